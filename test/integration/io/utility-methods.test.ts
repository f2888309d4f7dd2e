/**
 * Utility methods: fetchSockets (and acting on its results), socketsJoin,
 * socketsLeave, disconnectSockets, allSockets, serverSideEmit with the
 * in-memory adapter.
 */
import type { Socket as ClientSocket } from "socket.io-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { barrier, closeAll, connectMany, createIoServer, MODES, recordEvents, waitFor } from "../../helpers/io.js";

afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll();
});

describe.each(MODES)("utility methods (%s)", { timeout: 10000 }, (mode) => {
  async function setup(count = 3) {
    const handle = await createIoServer();
    handle.io.use((socket, next) => {
      socket.data = { user: `user-${socket.handshake.auth.n}` };
      next();
    });
    const clients: ClientSocket[] = [];
    const sockets: any[] = [];
    for (let i = 0; i < count; i++) {
      const many = await connectMany(handle, mode, 1, "/", { auth: { n: i } });
      clients.push(many.clients[0]);
      sockets.push(many.sockets[0]);
    }
    return { handle, clients, sockets, pairs: clients.map((client, i) => ({ client, socket: sockets[i] })) };
  }

  it("fetchSockets returns id, handshake, rooms and data of the matching sockets", async () => {
    const { handle, sockets } = await setup();
    sockets[0].join("a");
    sockets[1].join(["a", "b"]);
    const all = await handle.io.fetchSockets();
    expect(all.map((s) => s.id).sort()).toEqual(sockets.map((s) => s.id).sort());
    const first = all.find((s) => s.id === sockets[1].id)!;
    expect(first.handshake.auth).toEqual({ n: 1 });
    expect(first.handshake.query.EIO).toBe("4");
    expect(first.rooms).toBeInstanceOf(Set);
    expect([...first.rooms].sort()).toEqual([sockets[1].id, "a", "b"].sort());
    expect(first.data).toEqual({ user: "user-1" });
    expect((await handle.io.in("a").fetchSockets()).map((s) => s.id).sort()).toEqual([sockets[0].id, sockets[1].id].sort());
    expect((await handle.io.to("a").except("b").fetchSockets()).map((s) => s.id)).toEqual([sockets[0].id]);
    expect((await handle.io.except("a").fetchSockets()).map((s) => s.id)).toEqual([sockets[2].id]);
    expect(await handle.io.to("nobody").fetchSockets()).toEqual([]);
    expect(await handle.io.of("/empty").fetchSockets()).toEqual([]);
  });

  it("fetched sockets can emit, join, leave and disconnect", async () => {
    const { handle, clients, sockets, pairs } = await setup();
    const logs = clients.map(recordEvents);
    const [target] = await handle.io.in(sockets[1].id).fetchSockets();
    target.emit("direct", "hello");
    target.join("joined");
    expect(handle.io.of("/").adapter.rooms.get("joined")).toEqual(new Set([sockets[1].id]));
    target.leave("joined");
    expect(handle.io.of("/").adapter.rooms.has("joined")).toBe(false);
    await barrier(pairs);
    expect(logs).toEqual([[], [["direct", "hello"]], []]);

    const serverSide = waitFor(sockets[1], "disconnect");
    const clientSide = waitFor(clients[1], "disconnect");
    target.disconnect();
    expect((await serverSide)[0]).toBe("server namespace disconnect");
    expect((await clientSide)[0]).toBe("io server disconnect");
  });

  it("fetched sockets: emit with timeout and ack gets the single response", async () => {
    const { handle, clients, sockets } = await setup(1);
    clients[0].on("q", (cb: (v: string) => void) => cb("answer"));
    const [target] = await handle.io.fetchSockets();
    expect(target.id).toBe(sockets[0].id);
    const [err, response] = await new Promise<any[]>((resolve) => target.timeout(3000).emit("q", (...args: unknown[]) => resolve(args)));
    expect(err).toBeNull();
    expect(response).toBe("answer");
  });

  it("socketsJoin and socketsLeave act on the matching sockets only", async () => {
    const { handle, sockets } = await setup(4);
    sockets[0].join("a");
    sockets[1].join("a");
    sockets[1].join("x");
    handle.io.in("a").except("x").socketsJoin(["b", "c"]);
    const rooms = handle.io.of("/").adapter.rooms;
    expect(rooms.get("b")).toEqual(new Set([sockets[0].id]));
    expect(rooms.get("c")).toEqual(new Set([sockets[0].id]));
    handle.io.socketsJoin("everyone");
    expect(rooms.get("everyone")).toEqual(new Set(sockets.map((s) => s.id)));
    handle.io.in("a").socketsLeave("everyone");
    expect(rooms.get("everyone")).toEqual(new Set([sockets[2].id, sockets[3].id]));
    handle.io.socketsLeave(["everyone", "c"]);
    expect(rooms.has("everyone")).toBe(false);
    expect(rooms.has("c")).toBe(false);
    expect(rooms.get("b")).toEqual(new Set([sockets[0].id]));
    expect([...sockets[0].rooms].sort()).toEqual([sockets[0].id, "a", "b"].sort());
  });

  it("disconnectSockets() leaves the connection open; disconnectSockets(true) closes it", async () => {
    const { handle, clients, sockets } = await setup(3);
    sockets[0].join("kick");
    const serverReason = waitFor(sockets[0], "disconnect");
    const clientReason = waitFor(clients[0], "disconnect");
    handle.io.in("kick").disconnectSockets();
    expect((await serverReason)[0]).toBe("server namespace disconnect");
    expect((await clientReason)[0]).toBe("io server disconnect");
    expect(clients[1].connected && clients[2].connected).toBe(true);

    const closing = [waitFor(sockets[1].conn, "close"), waitFor(sockets[2].conn, "close")];
    const reasons = [waitFor(sockets[1], "disconnect"), waitFor(sockets[2], "disconnect")];
    const clientReasons = [waitFor(clients[1], "disconnect"), waitFor(clients[2], "disconnect")];
    handle.io.disconnectSockets(true);
    for (const r of reasons) expect((await r)[0]).toBe("server namespace disconnect");
    for (const r of clientReasons) expect((await r)[0]).toBe("io server disconnect");
    await Promise.all(closing);
    expect(handle.io.sockets.sockets.size).toBe(0);
  });

  it("allSockets resolves with the ids", async () => {
    const { handle, sockets } = await setup(2);
    sockets[1].join("r");
    expect(await handle.io.allSockets()).toEqual(new Set(sockets.map((s) => s.id)));
    expect(await handle.io.in("r").allSockets()).toEqual(new Set([sockets[1].id]));
  });
});

describe("serverSideEmit with the in-memory adapter", { timeout: 10000 }, () => {
  it("warns that it is not supported and does not crash", async () => {
    const handle = await createIoServer();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const received: unknown[] = [];
    handle.io.on("hello" as any, (...args: unknown[]) => received.push(args));
    expect(() => handle.io.serverSideEmit("hello", 1)).not.toThrow();
    expect(() => handle.io.of("/x").serverSideEmit("hello", 2)).not.toThrow();
    expect(warn).toHaveBeenCalled();
    expect(String(warn.mock.calls[0][0])).toContain("serverSideEmit");
    expect(received).toEqual([]);
  });

  it.each(["connect", "connection", "new_namespace"])("refuses the reserved name %s", async (name) => {
    const handle = await createIoServer();
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    expect(() => handle.io.serverSideEmit(name)).toThrow(`"${name}" is a reserved event name`);
  });
});
