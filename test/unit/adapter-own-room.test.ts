/**
 * The in-memory adapter shares one Set {id} between `sids` and `rooms` while
 * a socket is only in its own room. Checked against a plain model with two
 * Sets per socket: the same map contents, key order and room events, under
 * any sequence of joins and leaves.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Adapter } from "../../src/adapter/adapter.js";

/**
 * An adapter with sockets `ids`; its room events are recorded. A
 * "create-room" listener turns the sharing off, so by default there is none
 * (`listenCreateRoom` adds one).
 */
function newAdapter(ids: string[] = [], { listenCreateRoom = false } = {}) {
  const sockets = new Map<string, any>();
  const nsp: any = { name: "/", sockets, _ids: 0, server: { encoder: { encode: (p: any) => [JSON.stringify(p)] } } };
  const adapter = new Adapter(nsp);
  const writes: string[] = [];
  for (const id of ids) sockets.set(id, { id, notifyOutgoingListeners() {}, client: { writeToEngine: () => writes.push(id) } });
  const events: string[] = [];
  const names = ["join-room", "leave-room", "delete-room", ...(listenCreateRoom ? ["create-room"] : [])];
  for (const ev of names) {
    adapter.on(ev, (...args: unknown[]) => events.push([ev, ...args].join(":")));
  }
  return { adapter, events, writes };
}

/** Room bookkeeping with a Set of its own per entry, in the adapter's event order. */
class Model {
  readonly rooms = new Map<string, Set<string>>();
  readonly sids = new Map<string, Set<string>>();
  readonly events: string[] = [];

  addAll(id: string, rooms: Set<string>): void {
    let own = this.sids.get(id);
    if (!own) this.sids.set(id, (own = new Set()));
    for (const room of rooms) {
      own.add(room);
      let members = this.rooms.get(room);
      if (!members) {
        this.rooms.set(room, (members = new Set()));
        this.events.push(`create-room:${room}`);
      }
      if (!members.has(id)) {
        members.add(id);
        this.events.push(`join-room:${room}:${id}`);
      }
    }
  }

  del(id: string, room: string): void {
    this.sids.get(id)?.delete(room);
    this.#leave(room, id);
  }

  delAll(id: string): void {
    const own = this.sids.get(id);
    if (!own) return;
    for (const room of own) this.#leave(room, id);
    this.sids.delete(id);
  }

  #leave(room: string, id: string): void {
    const members = this.rooms.get(room);
    if (!members || !members.delete(id)) return;
    this.events.push(`leave-room:${room}:${id}`);
    if (members.size === 0) {
      this.rooms.delete(room);
      this.events.push(`delete-room:${room}`);
    }
  }
}

const view = (map: Map<string, Set<string>>) => [...map].map(([k, v]) => [k, [...v]]);

describe("adapter/in-memory: a socket's own room", () => {
  it("first join to its own room: one Set for both maps", () => {
    const { adapter, events } = newAdapter();
    adapter.addAll("a", new Set(["a"]));
    expect(adapter.sids.get("a")).toBe(adapter.rooms.get("a"));
    expect([...adapter.rooms.get("a")!]).toEqual(["a"]);
    expect(events).toEqual(["join-room:a:a"]);
  });

  it('with a "create-room" listener: two Sets, and the listener sees what socket.io shows it', () => {
    const { adapter, events } = newAdapter([], { listenCreateRoom: true });
    const seen: Array<[number, boolean]> = [];
    adapter.on("create-room", (room: string) => seen.push([adapter.rooms.get(room)!.size, adapter.sids.get("a")!.has(room)]));
    adapter.addAll("a", new Set(["a"]));
    // socket.io-adapter: the room exists empty, the socket's rooms already hold it
    expect(seen).toEqual([[0, true]]);
    expect(adapter.sids.get("a")).not.toBe(adapter.rooms.get("a"));
    expect(events).toEqual(["create-room:a", "join-room:a:a"]);
  });

  it("socketRooms() hands out a live Set: later joins and leaves show in it, the room's members stay apart", () => {
    const { adapter } = newAdapter();
    adapter.addAll("a", new Set(["a"]));
    const ownRoom = adapter.rooms.get("a");
    const rooms = adapter.socketRooms("a")!;
    expect(adapter.socketRooms("a")).toBe(rooms);
    adapter.addAll("a", new Set(["r"]));
    adapter.addAll("b", new Set(["a"]));
    expect([...rooms]).toEqual(["a", "r"]);
    adapter.del("a", "r");
    expect([...rooms]).toEqual(["a"]);
    expect(adapter.socketRooms("a")).toBe(rooms);
    expect(adapter.rooms.get("a")).toBe(ownRoom);
    expect([...ownRoom!]).toEqual(["a", "b"]);
  });

  it("joining another room changes the socket's rooms, not its own room's members", () => {
    const { adapter } = newAdapter();
    adapter.addAll("a", new Set(["a"]));
    const ownRoom = adapter.rooms.get("a");
    adapter.addAll("a", new Set(["r"]));
    expect([...adapter.sids.get("a")!]).toEqual(["a", "r"]);
    expect(adapter.rooms.get("a")).toBe(ownRoom);
    expect([...adapter.rooms.get("a")!]).toEqual(["a"]);
    expect([...adapter.rooms.get("r")!]).toEqual(["a"]);
  });

  it("another socket joining a socket's private room changes that room only; broadcasts reach both", () => {
    const { adapter, writes } = newAdapter(["a", "b"]);
    adapter.addAll("a", new Set(["a"]));
    adapter.addAll("b", new Set(["b"]));
    adapter.addAll("b", new Set(["a"]));
    expect([...adapter.rooms.get("a")!]).toEqual(["a", "b"]);
    expect([...adapter.sids.get("a")!]).toEqual(["a"]);
    expect([...adapter.sids.get("b")!]).toEqual(["b", "a"]);
    expect([...adapter.rooms.keys()]).toEqual(["a", "b"]);
    adapter.broadcast({ type: 2, data: ["m"] } as any, { rooms: new Set(["a"]), except: new Set() });
    expect(writes.sort()).toEqual(["a", "b"]);
    writes.length = 0;
    adapter.broadcast({ type: 2, data: ["m"] } as any, { rooms: new Set(["a"]), except: new Set(["b"]) });
    expect(writes).toEqual(["a"]);
  });

  it("leaving its own room, and leaving everything", () => {
    const { adapter, events } = newAdapter();
    adapter.addAll("a", new Set(["a"]));
    adapter.addAll("b", new Set(["b"]));
    adapter.del("a", "a");
    expect(adapter.sids.has("a")).toBe(true);
    expect([...adapter.sids.get("a")!]).toEqual([]);
    expect(adapter.rooms.has("a")).toBe(false);
    adapter.delAll("b");
    expect(adapter.sids.has("b")).toBe(false);
    expect(adapter.rooms.has("b")).toBe(false);
    expect(events.slice(2)).toEqual(["leave-room:a:a", "delete-room:a", "leave-room:b:b", "delete-room:b"]);
  });

  it("matches a model with separate Sets under random joins, leaves and reads; Sets handed out stay live", () => {
    const ids = ["a", "b", "c"];
    const room = fc.constantFrom("a", "b", "c", "r1", "r2");
    const op = fc.oneof(
      fc.tuple(fc.constant("addAll" as const), fc.constantFrom(...ids), fc.uniqueArray(room, { maxLength: 3 })),
      fc.tuple(fc.constant("own" as const), fc.constantFrom(...ids)),
      fc.tuple(fc.constant("del" as const), fc.constantFrom(...ids), room),
      fc.tuple(fc.constant("delAll" as const), fc.constantFrom(...ids)),
      fc.tuple(fc.constant("socketRooms" as const), fc.constantFrom(...ids)),
      fc.tuple(fc.constant("members" as const), room),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.boolean(), (ops, listenCreateRoom) => {
        const { adapter, events } = newAdapter([], { listenCreateRoom });
        const model = new Model();
        // Sets read from the adapter, which must stay the ones in its maps (socket.io hands out its own)
        const socketSets = new Map<string, Set<string>>();
        const roomSets = new Map<string, Set<string>>();
        adapter.on("delete-room", (r: string) => roomSets.delete(r));
        for (const o of ops) {
          if (o[0] === "addAll") {
            adapter.addAll(o[1], new Set(o[2]));
            model.addAll(o[1], new Set(o[2]));
          } else if (o[0] === "own") {
            adapter.addAll(o[1], new Set([o[1]]));
            model.addAll(o[1], new Set([o[1]]));
          } else if (o[0] === "del") {
            adapter.del(o[1], o[2]);
            model.del(o[1], o[2]);
          } else if (o[0] === "delAll") {
            adapter.delAll(o[1]);
            model.delAll(o[1]);
            socketSets.delete(o[1]);
          } else if (o[0] === "socketRooms") {
            const set = adapter.socketRooms(o[1]);
            if (set) socketSets.set(o[1], set);
          } else {
            const set = adapter.rooms.get(o[1]);
            if (set) roomSets.set(o[1], set);
          }
          expect(view(adapter.rooms)).toEqual(view(model.rooms));
          expect(view(adapter.sids)).toEqual(view(model.sids));
          for (const [id, set] of socketSets) expect(adapter.sids.get(id)).toBe(set);
          for (const [r, set] of roomSets) expect(adapter.rooms.get(r)).toBe(set);
          if (listenCreateRoom) for (const id of ids) if (adapter.sids.has(id)) expect(adapter.sids.get(id)).not.toBe(adapter.rooms.get(id));
        }
        const expected = listenCreateRoom ? model.events : model.events.filter((e) => !e.startsWith("create-room:"));
        expect(events).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
