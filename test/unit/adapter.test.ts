import { describe, it, expect } from "vitest";
import { Adapter } from "../../src/adapter/adapter.js";

/** A namespace with recording sockets: only the adapter's view of them. */
function setup(ids: string[]) {
  const writes: Array<{ id: string; encoded: any[] }> = [];
  const sockets = new Map<string, any>();
  const nsp: any = {
    name: "/",
    sockets,
    _ids: 0,
    server: { encoder: { encode: (p: any) => [JSON.stringify(p)] } },
  };
  const adapter = new Adapter(nsp);
  for (const id of ids) {
    const socket = {
      id,
      handshake: {},
      data: {},
      acks: new Map(),
      client: { writeToEngine: (encoded: any[]) => writes.push({ id, encoded }) },
      notifyOutgoingListeners: () => {},
      join: (rooms: string | string[]) => adapter.addAll(id, new Set(Array.isArray(rooms) ? rooms : [rooms])),
      leave: (room: string) => adapter.del(id, room),
      disconnect: () => {
        adapter.delAll(id);
        sockets.delete(id);
      },
    };
    sockets.set(id, socket);
    adapter.addAll(id, new Set([id]));
  }
  return { adapter, writes, sockets, nsp };
}

const recipients = (writes: Array<{ id: string }>) => writes.map((w) => w.id).sort();

describe("adapter/in-memory", () => {
  it("keeps rooms and sids mirrored and emits room events once each", () => {
    const { adapter } = setup(["a", "b"]);
    const events: string[] = [];
    for (const ev of ["create-room", "join-room", "leave-room", "delete-room"]) {
      adapter.on(ev, (...args) => events.push([ev, ...args].join(":")));
    }
    adapter.addAll("a", new Set(["r"]));
    adapter.addAll("a", new Set(["r"])); // already in: nothing
    adapter.addAll("b", new Set(["r"]));
    adapter.del("a", "r");
    adapter.delAll("b");
    expect(events).toEqual([
      "create-room:r",
      "join-room:r:a",
      "join-room:r:b",
      "leave-room:r:a",
      "leave-room:b:b",
      "delete-room:b",
      "leave-room:r:b",
      "delete-room:r",
    ]);
    expect(adapter.rooms.has("r")).toBe(false);
    expect(adapter.sids.has("b")).toBe(false);
    expect([...adapter.sids.get("a")!]).toEqual(["a"]);
  });

  it("broadcast reaches the union of rooms minus excluded rooms, each socket once, encoding once", () => {
    const { adapter, writes, nsp } = setup(["a", "b", "c", "d"]);
    let encodes = 0;
    const encode = nsp.server.encoder.encode;
    (adapter as any).encoder.encode = (p: any) => (encodes++, encode(p));
    adapter.addAll("a", new Set(["x", "y"]));
    adapter.addAll("b", new Set(["x"]));
    adapter.addAll("c", new Set(["y", "z"]));
    adapter.addAll("d", new Set(["z"]));
    adapter.broadcast({ type: 2, data: ["m"] }, { rooms: new Set(["x", "y"]), except: new Set(["z"]) });
    expect(recipients(writes)).toEqual(["a", "b"]);
    expect(encodes).toBe(1);
    writes.length = 0;
    adapter.broadcast({ type: 2, data: ["m"] }, { rooms: new Set(), except: new Set(["x"]) });
    expect(recipients(writes)).toEqual(["c", "d"]);
    writes.length = 0;
    adapter.broadcast({ type: 2, data: ["m"] }, { rooms: new Set(["y"]) });
    expect(recipients(writes)).toEqual(["a", "c"]);
  });

  it("broadcastWithAck registers one ack id per recipient and reports the count", () => {
    const { adapter, sockets } = setup(["a", "b", "c"]);
    let count = -1;
    const ack = () => {};
    adapter.broadcastWithAck({ type: 2, data: ["q"] }, { rooms: new Set(["a", "c"]), flags: { timeout: 50 } }, (n) => (count = n), ack);
    expect(count).toBe(2);
    expect(sockets.get("a").acks.get(0)).toBe(ack);
    expect(sockets.get("c").acks.get(0)).toBe(ack);
    expect(sockets.get("b").acks.size).toBe(0);
  });

  it("pending broadcast acks are removed after the timeout", async () => {
    const { adapter, sockets } = setup(["a"]);
    adapter.broadcastWithAck({ type: 2, data: ["q"] }, { rooms: new Set(), flags: { timeout: 10 } }, () => {}, () => {});
    expect(sockets.get("a").acks.size).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(sockets.get("a").acks.size).toBe(0);
  });

  it("utility operations act on the matched sockets only", async () => {
    const { adapter, sockets } = setup(["a", "b", "c"]);
    adapter.addAll("a", new Set(["x"]));
    adapter.addSockets({ rooms: new Set(["x"]) }, ["y", "z"]);
    expect([...adapter.socketRooms("a")!].sort()).toEqual(["a", "x", "y", "z"]);
    adapter.delSockets({ rooms: new Set(), except: new Set(["b"]) }, ["y"]);
    expect([...adapter.socketRooms("a")!].sort()).toEqual(["a", "x", "z"]);
    expect([...(await adapter.sockets(new Set(["z"])))]).toEqual(["a"]);
    const fetched = await adapter.fetchSockets({ rooms: new Set(["a", "b"]) });
    expect(fetched.map((s) => s.id).sort()).toEqual(["a", "b"]);
    adapter.disconnectSockets({ rooms: new Set(["x"]) }, false);
    expect(sockets.has("a")).toBe(false);
    expect(adapter.rooms.has("x")).toBe(false);
  });
});
