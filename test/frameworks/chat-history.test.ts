/**
 * The chat demo's room history (examples/chat/history.js): bounded by
 * entries, bytes and rooms, checked against a plain model with fast-check;
 * client ids recognised; written to a file and read back after a "restart"
 * (a new instance on the same file); a damaged file ignored, never fatal.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HISTORY_LIMITS, RoomHistory } from "../../examples/chat/history.js";

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tidewire-chat-history-"));
  dirs.push(dir);
  return join(dir, "history.json");
}

type Entry =
  | { kind: "text"; id: number; cid?: string; nick: string; text: string; time: number }
  | { kind: "file"; id: number; cid?: string; nick: string; name: string; type: string; size: number; data: Buffer; time: number };

const bytesOf = (e: Entry) => (e.kind === "file" ? e.size : Buffer.byteLength(e.text));

/** The reference: keep everything, then cut by the same rules, spelled out. */
class Model {
  rooms = new Map<string, Entry[]>();
  add(room: string, entry: Entry, limits: typeof HISTORY_LIMITS) {
    const list = this.rooms.get(room) ?? [];
    this.rooms.delete(room);
    list.push(entry);
    while (list.length > limits.entries) list.shift();
    while (list.length > 1 && list.reduce((n, e) => n + bytesOf(e), 0) > limits.bytes) list.shift();
    this.rooms.set(room, list);
    while (this.rooms.size > limits.rooms) this.rooms.delete([...this.rooms.keys()][0]);
  }
}

describe("chat demo room history", () => {
  it("keeps at most N entries, B bytes and R rooms, oldest first out (model check)", () => {
    const limits = { entries: 5, bytes: 300, rooms: 3, clientIds: 50 };
    const op = fc.record({
      room: fc.constantFrom("a", "b", "c", "d", "e"),
      file: fc.boolean(),
      size: fc.integer({ min: 1, max: 200 }),
      text: fc.string({ maxLength: 120 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const history = new RoomHistory({ limits });
        const model = new Model();
        for (const { room, file, size, text } of ops) {
          const id = history.nextId();
          const entry: Entry = file
            ? { kind: "file", id, cid: `cid-${id}-xxxx`, nick: "n", name: "f", type: "x/y", size, data: Buffer.alloc(size), time: id }
            : { kind: "text", id, cid: `cid-${id}-xxxx`, nick: "n", text, time: id };
          history.add(room, entry);
          model.add(room, entry, limits);
          for (const r of ["a", "b", "c", "d", "e"]) {
            const kept = history.get(r);
            expect(kept).toEqual(model.rooms.get(r) ?? []);
            expect(kept.length).toBeLessThanOrEqual(limits.entries);
            // One entry may exceed the byte bound alone (an attachment is whole or absent).
            if (kept.length > 1) expect(kept.reduce((n: number, e: Entry) => n + bytesOf(e), 0)).toBeLessThanOrEqual(limits.bytes);
          }
          expect(model.rooms.size).toBeLessThanOrEqual(limits.rooms);
          // A file is remembered by id and size only: its bytes go with the room history.
          const known = history.findByClientId(entry.cid!)?.entry;
          if (entry.kind === "file") expect(known).toEqual({ kind: "file", id: entry.id, size: entry.size });
          else expect(known).toBe(entry);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("remembers a bounded number of client ids", () => {
    const history = new RoomHistory({ limits: { clientIds: 3 } });
    for (let i = 1; i <= 5; i++) history.add("r", { kind: "text", id: history.nextId(), cid: `client-id-${i}`, nick: "n", text: "t", time: i });
    expect(history.findByClientId("client-id-1")).toBeNull();
    expect(history.findByClientId("client-id-2")).toBeNull();
    expect(history.findByClientId("client-id-5")?.room).toBe("r");
  });

  it("writes shortly after a change and reads it back in a new instance, ids going on", async () => {
    const file = await tempFile();
    const first = new RoomHistory({ file, writeDelayMs: 10 });
    const picture = Buffer.from([0, 1, 2, 253, 254, 255]);
    first.add("general", { kind: "text", id: first.nextId(), cid: "cid-aaaaaaaa", nick: "Ada", text: "héllo", time: 1 });
    first.add("general", { kind: "file", id: first.nextId(), cid: "cid-bbbbbbbb", nick: "Ada", name: "p.png", type: "image/png", size: picture.length, data: picture, time: 2 });
    await expect.poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 2000 }).toContain("p.png");

    const second = new RoomHistory({ file });
    expect(second.get("general")).toEqual(first.get("general"));
    expect(second.size).toBe(2);
    expect(second.findByClientId("cid-bbbbbbbb")?.entry).toEqual({ kind: "file", id: 2, size: picture.length });
    expect(second.nextId()).toBe(3);
    // Loading is not a change: nothing is written back until something happens.
    second.flush();
  });

  it("flush() writes pending changes at once (shutdown)", async () => {
    const file = await tempFile();
    const history = new RoomHistory({ file, writeDelayMs: 60_000 });
    history.add("r", { kind: "text", id: history.nextId(), nick: "n", text: "last words", time: 1 });
    history.flush();
    expect(JSON.parse(await readFile(file, "utf8")).rooms.r[0].text).toBe("last words");
  });

  it("ignores a damaged file or malformed entries, with a message, and starts from what is valid", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const file = await tempFile();
    await writeFile(file, "{ not json");
    expect(new RoomHistory({ file }).size).toBe(0);
    expect(errors.mock.calls[0][0]).toMatch(/ignoring the room history in .*history\.json/);

    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        nextId: 10,
        rooms: {
          ok: [
            { kind: "text", id: 4, nick: "n", text: "kept", time: 1 },
            { kind: "text", id: "5", nick: "n", text: "bad id", time: 1 },
            { kind: "file", id: 6, nick: "n", name: "f", type: "x/y", time: 1 },
            { kind: "script", id: 7, nick: "n", time: 1 },
          ],
          notAList: { id: 1 },
        },
      }),
    );
    const history = new RoomHistory({ file });
    expect(history.get("ok").map((e: Entry) => e.id)).toEqual([4]);
    expect(history.get("notAList")).toEqual([]);
    expect(history.nextId()).toBe(10);
  });
});
