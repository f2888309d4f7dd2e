/** The generic cluster pieces in src/adapter/bus/: request bookkeeping and wire checks. */
import { describe, expect, it } from "vitest";
import {
  AckRequests,
  RequestTable,
  RequestTimeoutError,
  isBroadcastablePacket,
  isSocketDetails,
  toBroadcastOptions,
} from "../../../src/adapter/bus/index.js";

function settle(table: RequestTable, id: string, expected: number, timeout: number) {
  return new Promise<{ answers?: unknown[]; err?: any }>((resolve) =>
    table.open(id, { what: "fetchSockets", expected, timeout, onDone: (answers) => resolve({ answers }), onFail: (err) => resolve({ err }) }),
  );
}

describe("RequestTable", () => {
  it("settles once every expected answer arrived; unknown ids are refused", async () => {
    const table = new RequestTable(10);
    const done = settle(table, "r1", 2, 5000);
    expect(table.answer("r1", "x")).toBe(true);
    expect(table.answer("other", "y")).toBe(false);
    expect(table.answer("r1", "z")).toBe(true);
    expect(await done).toEqual({ answers: ["x", "z"] });
    expect(table.size).toBe(0);
    expect(table.answer("r1", "late")).toBe(false);
  });

  it("times out with a clear error carrying the partial answers", async () => {
    const table = new RequestTable(10);
    const done = settle(table, "r2", 3, 50);
    table.answer("r2", "only");
    const { err } = await done;
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect(err.code).toBe("ERR_TIDEWIRE_ACK_TIMEOUT");
    expect(err.message).toMatch(/^timeout reached while waiting for fetchSockets responses: only 1 responses received out of 3 within 50 ms/);
    expect(err.responses).toEqual(["only"]);
    expect(table.has("r2")).toBe(false);
  });

  it("refuses requests beyond its limit, and cancelAll / fail settle pending ones at once", async () => {
    const table = new RequestTable(2);
    const a = settle(table, "a", 1, 5000);
    const b = settle(table, "b", 1, 5000);
    expect(() => table.open("c", { what: "allRooms", expected: 1, timeout: 10, onDone() {}, onFail() {} })).toThrow(
      /allRooms: 2 requests to other nodes are already waiting for answers \(limit 2\)/,
    );
    table.fail("a", new Error("publish failed"));
    expect((await a).err.message).toBe("publish failed");
    table.cancelAll(new Error("closed"));
    expect((await b).err.message).toBe("closed");
    expect(table.size).toBe(0);
  });
});

describe("AckRequests", () => {
  it("routes counts and acks until the timeout, then forgets the request", async () => {
    const acks = new AckRequests();
    const counts: number[] = [];
    const got: unknown[] = [];
    acks.add("q", (n) => counts.push(n), (arg) => got.push(arg), 40);
    acks.clientCount("q", 3);
    acks.clientCount("q", -1);
    acks.clientCount("q", "3");
    acks.ack("q", "yes");
    expect(counts).toEqual([3]);
    expect(got).toEqual(["yes"]);
    await new Promise((r) => setTimeout(r, 80));
    expect(acks.has("q")).toBe(false);
    acks.ack("q", "late");
    expect(got).toEqual(["yes"]);
  });
});

describe("wire checks", () => {
  it("turns valid broadcast options into sets and keeps only known flags", () => {
    expect(toBroadcastOptions({ rooms: ["a", 1], except: ["b"], flags: { volatile: true, timeout: 5, local: true, evil: 1 } })).toEqual({
      rooms: new Set(["a", 1]),
      except: new Set(["b"]),
      flags: { volatile: true, timeout: 5 },
    });
    expect(toBroadcastOptions({ rooms: [] })).toEqual({ rooms: new Set(), except: new Set(), flags: {} });
    for (const bad of [null, [], { rooms: "a" }, { rooms: [{}] }, { rooms: [], except: "x" }, { rooms: [], flags: [] }]) {
      expect(toBroadcastOptions(bad)).toBe(null);
    }
  });

  it("lets only event packets clients accept through", () => {
    expect(isBroadcastablePacket({ type: 2, data: ["ev", 1] })).toBe(true);
    expect(isBroadcastablePacket({ type: 5, data: [7], nsp: "/" })).toBe(true);
    for (const bad of [
      null,
      { type: 3, data: ["ev"] },
      { type: 2, data: [] },
      { type: 2, data: "ev" },
      { type: 2, data: [null] },
      { type: 2, data: ["disconnect"] },
      { type: 2, data: ["newListener"] },
      { type: 2, data: ["ev"], id: 1 },
      { type: 2, data: ["ev"], nsp: 5 },
    ]) {
      expect(isBroadcastablePacket(bad)).toBe(false);
    }
  });

  it("accepts socket details with id, handshake object and room list", () => {
    expect(isSocketDetails({ id: "x", handshake: {}, rooms: ["x"], data: null })).toBe(true);
    expect(isSocketDetails({ id: 1, handshake: {}, rooms: [] })).toBe(false);
    expect(isSocketDetails({ id: "x", handshake: null, rooms: [] })).toBe(false);
    expect(isSocketDetails({ id: "x", handshake: {}, rooms: "x" })).toBe(false);
  });
});
