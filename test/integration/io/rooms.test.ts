/**
 * Rooms and broadcasting: join/leave, socket.rooms, to/in/except composition,
 * socket.broadcast and socket.to excluding the sender, exactly-once delivery
 * to the intended sockets only, flags (local, volatile, compress), adapter
 * maps and events.
 */
import { afterEach, describe, expect, it } from "vitest";
import { barrier, closeAll, connectMany, connectPair, createIoServer, MODES, recordEvents, waitFor } from "../../helpers/io.js";

afterEach(closeAll);

/** Room membership used by the composition table: index → rooms. */
const MEMBERSHIP: string[][] = [["a"], ["a", "b"], ["b"], ["c"], [], ["a", "c"]];

describe.each(MODES)("rooms (%s)", { timeout: 10000 }, (mode) => {
  it("join and leave, one room or several; socket.rooms contains the socket id", async () => {
    const handle = await createIoServer();
    const { socket } = await connectPair(handle, mode);
    expect([...socket.rooms]).toEqual([socket.id]);
    await socket.join("one");
    await socket.join(["two", "three"]);
    expect([...socket.rooms].sort()).toEqual([socket.id, "one", "three", "two"].sort());
    await socket.leave("two");
    await socket.leave("never-joined");
    expect([...socket.rooms].sort()).toEqual([socket.id, "one", "three"].sort());
    const rooms = handle.io.of("/").adapter.rooms;
    expect(rooms.get("one")).toEqual(new Set([socket.id]));
    expect(rooms.has("two")).toBe(false);
    expect(handle.io.of("/").adapter.sids.get(socket.id)).toEqual(new Set([socket.id, "one", "three"]));
  });

  it("disconnecting still sees the rooms, disconnect no longer does, and empty rooms are deleted", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const other = await connectPair(handle, mode);
    socket.join(["r1", "shared"]);
    other.socket.join("shared");
    const roomsAt: Record<string, string[]> = {};
    socket.on("disconnecting", () => (roomsAt.disconnecting = [...socket.rooms].sort()));
    const disconnected = waitFor(socket, "disconnect");
    client.disconnect();
    await disconnected;
    roomsAt.disconnect = [...socket.rooms];
    expect(roomsAt.disconnecting).toEqual([socket.id, "r1", "shared"].sort());
    expect(roomsAt.disconnect).toEqual([]);
    const rooms = handle.io.of("/").adapter.rooms;
    expect(rooms.has("r1")).toBe(false);
    expect(rooms.has(socket.id)).toBe(false);
    expect(rooms.get("shared")).toEqual(new Set([other.socket.id]));
    // joining after the disconnection has no effect
    await socket.join("late");
    expect(rooms.has("late")).toBe(false);
  });

  it("to/in/except compose; each intended socket gets each packet exactly once, others nothing", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, mode, MEMBERSHIP.length);
    MEMBERSHIP.forEach((rooms, i) => sockets[i].join(rooms));
    const logs = clients.map(recordEvents);
    const io = handle.io;
    const kept = io.to("a");
    kept.to("b"); // operators are immutable: this does not widen `kept`
    const cases: Array<[string, () => void, number[]]> = [
      ["all", () => io.emit("all"), [0, 1, 2, 3, 4, 5]],
      ["to-a", () => io.to("a").emit("to-a"), [0, 1, 5]],
      ["in-a", () => io.in("a").emit("in-a"), [0, 1, 5]],
      ["to-a-to-b", () => io.to("a").to("b").emit("to-a-to-b"), [0, 1, 2, 5]],
      ["to-array", () => io.to(["a", "b", "c"]).emit("to-array"), [0, 1, 2, 3, 5]],
      ["except-a", () => io.except("a").emit("except-a"), [2, 3, 4]],
      ["to-a-except-b", () => io.to("a").except("b").emit("to-a-except-b"), [0, 5]],
      ["except-array", () => io.except(["a", "b"]).emit("except-array"), [3, 4]],
      ["to-c-except-c", () => io.to("c").except("c").emit("to-c-except-c"), []],
      ["to-id", () => io.to(sockets[4].id).emit("to-id"), [4]],
      ["to-ids", () => io.to([sockets[2].id, sockets[3].id, "a"]).emit("to-ids"), [0, 1, 2, 3, 5]],
      ["except-id", () => io.except(sockets[0].id).emit("except-id"), [1, 2, 3, 4, 5]],
      ["to-unknown", () => io.to("nobody").emit("to-unknown"), []],
      ["kept", () => kept.emit("kept"), [0, 1, 5]],
      ["broadcast", () => sockets[1].broadcast.emit("broadcast"), [0, 2, 3, 4, 5]],
      ["socket-to-a", () => sockets[1].to("a").emit("socket-to-a"), [0, 5]],
      ["socket-in-b", () => sockets[2].in("b").emit("socket-in-b"), [1]],
      ["socket-to-own-room", () => sockets[3].to(sockets[3].id).emit("socket-to-own-room"), []],
      ["socket-except-c", () => sockets[0].except("c").emit("socket-except-c"), [1, 2, 4]],
      ["socket-broadcast-to-b", () => sockets[5].broadcast.to("b").emit("socket-broadcast-to-b"), [1, 2]],
      ["local", () => io.local.emit("local"), [0, 1, 2, 3, 4, 5]],
      ["local-to-c", () => io.local.to("c").emit("local-to-c"), [3, 5]],
      ["compress", () => io.compress(false).to("b").emit("compress"), [1, 2]],
      ["nsp-to-a", () => io.of("/").to("a").emit("nsp-to-a"), [0, 1, 5]],
      ["other-nsp", () => io.of("/other").emit("other-nsp"), []],
    ];
    for (const [, run] of cases) run();
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    clients.forEach((_, i) => {
      const expected = cases.filter(([, , recipients]) => recipients.includes(i)).map(([name]) => [name]);
      expect(logs[i], `client ${i} in rooms [${MEMBERSHIP[i]}]`).toEqual(expected);
    });
  });

  it("broadcast arguments, binary included, arrive intact at every recipient", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, mode, 3);
    sockets[0].join("bin");
    sockets[2].join("bin");
    const logs = clients.map(recordEvents);
    handle.io.to("bin").emit("payload", { text: "héllo", list: [1, 2] }, Buffer.from([1, 2, 3]), { nested: new Uint8Array([9]) });
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    expect(logs[1]).toEqual([]);
    for (const i of [0, 2]) {
      expect(logs[i]).toHaveLength(1);
      const [name, obj, buf, nested] = logs[i][0];
      expect(name).toBe("payload");
      expect(obj).toEqual({ text: "héllo", list: [1, 2] });
      expect([...buf]).toEqual([1, 2, 3]);
      expect([...nested.nested]).toEqual([9]);
    }
  });

  it("volatile broadcasts reach connected idle clients, and never twice", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, mode, 3);
    const logs = clients.map(recordEvents);
    handle.io.volatile.emit("v", 1);
    handle.io.emit("after", 2);
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    for (const log of logs) {
      expect(log.filter(([ev]) => ev === "v").length).toBeLessThanOrEqual(1);
      expect(log.filter(([ev]) => ev === "after")).toEqual([["after", 2]]);
    }
  });

  it("the adapter emits create-room, join-room, leave-room and delete-room", async () => {
    const handle = await createIoServer();
    const adapter = handle.io.of("/").adapter;
    const events: string[] = [];
    const record = (name: string) => (...args: string[]) => events.push(`${name}:${args.join(",")}`);
    for (const name of ["create-room", "join-room", "leave-room", "delete-room"]) adapter.on(name, record(name));
    const { client, socket } = await connectPair(handle, mode);
    const id = socket.id;
    expect(events).toEqual([`create-room:${id}`, `join-room:${id},${id}`]);
    events.length = 0;
    const other = await connectPair(handle, mode);
    events.length = 0;
    await socket.join("room");
    await socket.join("room");
    await other.socket.join("room");
    await socket.leave("room");
    await other.socket.leave("room");
    expect(events).toEqual([
      "create-room:room",
      `join-room:room,${id}`,
      `join-room:room,${other.socket.id}`,
      `leave-room:room,${id}`,
      `leave-room:room,${other.socket.id}`,
      "delete-room:room",
    ]);
    events.length = 0;
    await socket.join("kept");
    events.length = 0;
    const gone = waitFor(socket, "disconnect");
    client.disconnect();
    await gone;
    expect([...events].sort()).toEqual(
      [`leave-room:${id},${id}`, `delete-room:${id}`, `leave-room:kept,${id}`, "delete-room:kept"].sort(),
    );
  });

  it("custom namespace adapters are separate", async () => {
    const handle = await createIoServer();
    const main = await connectPair(handle, mode);
    const x = await connectPair(handle, mode, {}, "/x");
    main.socket.join("same-name");
    x.socket.join("same-name");
    expect(handle.io.of("/").adapter.rooms.get("same-name")).toEqual(new Set([main.socket.id]));
    expect(handle.io.of("/x").adapter.rooms.get("same-name")).toEqual(new Set([x.socket.id]));
    const logs = [main, x].map((p) => recordEvents(p.client));
    handle.io.of("/x").to("same-name").emit("only-x");
    await barrier([main, x]);
    expect(logs).toEqual([[], [["only-x"]]]);
  });
});

describe("socket.rooms is the live Set (socket.io hands out the adapter's own)", { timeout: 10000 }, () => {
  it("a reference saved before join() sees the joins and leaves, in the connection listener and later", async () => {
    const handle = await createIoServer();
    const saved: Array<{ rooms: Set<string>; afterJoin: string[] }> = [];
    handle.io.on("connection", (socket) => {
      const rooms = socket.rooms;
      socket.join("news");
      saved.push({ rooms, afterJoin: [...rooms] });
    });
    const { client, socket } = await connectPair(handle, "websocket");
    const [{ rooms, afterJoin }] = saved;
    expect(afterJoin).toEqual([socket.id, "news"]);
    expect(socket.rooms).toBe(rooms);
    await socket.join(["a", "b"]);
    await socket.leave("news");
    expect([...rooms]).toEqual([socket.id, "a", "b"]);
    expect(socket.rooms).toBe(rooms);
    // and the saved Set is what broadcasts use: the client is in "a", no longer in "news"
    const log = recordEvents(client);
    handle.io.to("news").emit("news");
    handle.io.to("a").emit("a");
    await barrier([{ client, socket }]);
    expect(log).toEqual([["a"]]);
  });

  it("a reference saved from another socket's join into this socket's own room stays this socket's", async () => {
    const handle = await createIoServer();
    const [one, two] = (await connectMany(handle, "websocket", 2)).sockets;
    const rooms = one.rooms;
    await two.join(one.id);
    await one.join("x");
    expect([...rooms]).toEqual([one.id, "x"]);
    expect([...handle.io.of("/").adapter.rooms.get(one.id)!]).toEqual([one.id, two.id]);
  });

  it('a "create-room" listener sees the new room empty and the socket already holding it', async () => {
    const handle = await createIoServer();
    const adapter = handle.io.of("/").adapter;
    const seen: Array<[string, number, boolean]> = [];
    adapter.on("create-room", (room: string) => {
      const holders = [...adapter.sids].filter(([, rooms]) => rooms.has(room)).length;
      seen.push([room, adapter.rooms.get(room)!.size, holders === 1]);
    });
    const { socket } = await connectPair(handle, "websocket");
    await socket.join("lobby");
    expect(seen).toEqual([
      [socket.id, 0, true],
      ["lobby", 0, true],
    ]);
  });
});
