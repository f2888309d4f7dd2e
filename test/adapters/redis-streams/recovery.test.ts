/**
 * Connection state recovery across nodes: a client connected to node A loses
 * its network, reconnects to node B and gets `socket.recovered`, its rooms,
 * its socket.data and every broadcast and direct emit it missed, exactly once
 * and in order, over WebSocket, HTTP long-polling and polling + upgrade.
 */
import { afterEach, describe, expect, it } from "vitest";
import { balancer, closeAll, makeClient, missingRequirement, recordEvents, startNodes, uniqueKey, until, waitFor, TRANSPORTS } from "./helpers.js";

const missing = await missingRequirement();
afterEach(closeAll);

/** Event args without the trailing recovery offset. */
const strip = (events: Array<[string, ...unknown[]]>) =>
  events.map(([name, ...args]) => [name, ...(typeof args.at(-1) === "string" && /^\d+-\d+$/.test(args.at(-1) as string) ? args.slice(0, -1) : args)]);

const sortedJson = (list: unknown[]) => list.map((x) => JSON.stringify(x)).sort();
function expectIncreasingOffsets(events: Array<[string, ...unknown[]]>) {
  const offsets = events.map((e) => String(e.at(-1)).split("-").map(Number));
  for (let i = 1; i < offsets.length; i++) {
    const [pm, ps] = offsets[i - 1];
    const [m, s] = offsets[i];
    expect(m > pm || (m === pm && s > ps), `offset ${i} after ${i - 1}`).toBe(true);
  }
}

describe.skipIf(missing !== null)("recovery from node A to node B", () => {
  describe.each(TRANSPORTS)("over %s", (transports) => {
    it("restores rooms, data and every missed broadcast and direct emit, once and in order", async () => {
      const key = uniqueKey();
      const [a, b, c] = await startNodes([{ key, name: "A" }, { key, name: "B" }, { key, name: "C" }]);
      let target = a.port;
      const lb = await balancer(() => target);
      const client = makeClient(lb.url, { user: "u1", rooms: ["r"], transports });
      const got = recordEvents(client, ["m", "direct", "other"]);
      await waitFor(client, "connect", 5000);
      if (transports === "upgrade") await until(() => client.io.engine.transport.name === "websocket", 5000, "upgrade");
      const [first] = await a.call("connections");
      expect(first).toMatchObject({ recovered: false, rooms: [first.sid, "r"].sort() });
      await c.call("emit", { rooms: ["r"], event: "m", args: [0] });
      client.emit("self", 1);
      await until(() => got.length === 2, 3000, "the first two events");
      client.emit("set-data", "kept");
      await until(async () => (await a.call("fetchSockets", { rooms: ["r"] }))[0]?.data?.extra === "kept", 3000, "data set");

      // The network drops; the balancer now has no node to offer.
      target = 0;
      const disconnected = waitFor(client, "disconnect", 5000);
      lb.drop();
      await disconnected;
      await c.call("emit", { rooms: ["r"], event: "m", args: [1] });
      await a.call("emit", { rooms: ["r"], event: "m", args: [2, { nested: true }] });
      await c.call("emit", { rooms: ["elsewhere"], event: "other", args: [] });
      await b.call("emit", { rooms: [first.sid], event: "direct", args: [2] });
      await c.call("emit", { rooms: ["r"], event: "m", args: [3] });

      target = b.port;
      await waitFor(client, "connect", 8000);
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(first.sid);
      await c.call("emit", { rooms: ["r"], event: "m", args: [4] });
      await until(() => got.length === 7, 5000, "every event");
      // Exactly these, each once; messages from different nodes are in stream order (their
      // offsets increase), which need not be the order the test asked the nodes in.
      const expected = [["m", 0], ["direct", 1], ["m", 1], ["m", 2, { nested: true }], ["direct", 2], ["m", 3], ["m", 4]];
      expect(sortedJson(strip(got))).toEqual(sortedJson(expected));
      expectIncreasingOffsets(got);
      const [onB] = await b.call("connections");
      expect(onB).toMatchObject({ sid: first.sid, recovered: true, reason: null, rooms: [first.sid, "r"].sort(), data: { node: "A", user: "u1", extra: "kept" } });
      // The session lives on: a second move, B to C, recovers again.
      target = 0;
      const gone = waitFor(client, "disconnect", 5000);
      lb.drop();
      await gone;
      await a.call("emit", { rooms: ["r"], event: "m", args: [5] });
      target = c.port;
      await waitFor(client, "connect", 8000);
      expect(client.recovered).toBe(true);
      await until(() => got.length === 8, 5000, "the last event");
      expect(strip(got).at(-1)).toEqual(["m", 5]);
    });
  });

  it("recovers a client that never received a packet (the session records where it started)", async () => {
    const key = uniqueKey();
    const [a, b] = await startNodes([{ key, name: "A" }, { key, name: "B" }]);
    let target = a.port;
    const lb = await balancer(() => target);
    const client = makeClient(lb.url, { user: "quiet", rooms: ["q"] });
    const got = recordEvents(client, ["m"]);
    await waitFor(client, "connect", 5000);
    const [first] = await a.call("connections");
    target = 0;
    const disconnected = waitFor(client, "disconnect", 5000);
    lb.drop();
    await disconnected;
    await a.call("emit", { rooms: ["q"], event: "m", args: ["missed"] });
    target = b.port;
    await waitFor(client, "connect", 8000);
    expect(client.recovered).toBe(true);
    expect(client.id).toBe(first.sid);
    await until(() => got.length === 1, 3000, "the missed event");
    expect(strip(got)).toEqual([["m", "missed"]]);
  });

  it("a session a client left for good is not recoverable; an unknown one says why", async () => {
    const key = uniqueKey();
    const [a, b] = await startNodes([{ key, name: "A" }, { key, name: "B" }]);
    const client = makeClient(a.url, { user: "leaver" });
    await waitFor(client, "connect", 5000);
    const pid = (client as any)._pid as string;
    client.disconnect();
    await until(async () => (await a.call("localCount")) === 0, 3000, "A sees the client leave");
    const again = makeClient(b.url, {});
    (again as any)._pid = pid;
    (again as any)._lastOffset = undefined;
    again.auth = { user: "leaver" };
    await waitFor(again, "connect", 5000);
    expect(again.recovered).toBe(false);
    const conns = await b.call("connections");
    expect(conns.at(-1)).toMatchObject({ recovered: false, reason: "not-found" });
  });
});
