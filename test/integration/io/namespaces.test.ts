/**
 * Namespaces: main and custom, dynamic parents (regex and function) with
 * their children, unknown namespaces, cleanup of empty children, and several
 * namespaces multiplexed over one connection.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  barrier,
  closeAll,
  connectClient,
  connectPair,
  createClient,
  createIoServer,
  createManager,
  MODES,
  recordEvents,
  waitFor,
  waitForUpgrade,
} from "../../helpers/io.js";

afterEach(closeAll);

describe.each(MODES)("namespaces (%s)", { timeout: 10000 }, (mode) => {
  it("main namespace: connection event, nsp, sockets map", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    expect(socket.nsp).toBe(handle.io.sockets);
    expect(socket.nsp.name).toBe("/");
    expect(handle.io.sockets.sockets.get(socket.id)).toBe(socket);
    expect(handle.io.sockets.sockets.size).toBe(1);
    expect(client.id).toBe(socket.id);
  });

  it("custom namespace, with or without the leading slash in of()", async () => {
    const handle = await createIoServer();
    const nsp = handle.io.of("admin");
    expect(nsp.name).toBe("/admin");
    expect(handle.io.of("/admin")).toBe(nsp);
    const connected = waitFor(nsp, "connection");
    const mainConnection = new Promise((resolve) => handle.io.on("connection", resolve));
    const client = await connectClient(handle, mode, {}, "/admin");
    const [socket] = await connected;
    expect(socket.nsp).toBe(nsp);
    expect(nsp.sockets.has(client.id!)).toBe(true);
    expect(handle.io.sockets.sockets.size).toBe(0);
    // connecting to /admin does not connect to / implicitly
    const outcome = await Promise.race([mainConnection.then(() => "main"), barrier([{ client, socket }]).then(() => "none")]);
    expect(outcome).toBe("none");
  });

  it("'connect' is an alias of 'connection' on namespaces", async () => {
    const handle = await createIoServer();
    const events: string[] = [];
    handle.io.of("/alias").on("connect", (s) => events.push(`connect:${s.id}`));
    handle.io.of("/alias").on("connection", (s) => events.push(`connection:${s.id}`));
    const client = await connectClient(handle, mode, {}, "/alias");
    expect(events).toEqual([`connect:${client.id}`, `connection:${client.id}`]);
  });

  it("new_namespace is emitted for each namespace created", async () => {
    const handle = await createIoServer();
    const created: string[] = [];
    handle.io.on("new_namespace", (nsp: any) => created.push(nsp.name));
    handle.io.of("/one");
    handle.io.of("/two");
    handle.io.of("/one");
    expect(created).toEqual(["/one", "/two"]);
  });

  it("unknown namespace gives connect_error 'Invalid namespace' and the connection stays usable", async () => {
    const handle = await createIoServer();
    handle.io.on("connection", (socket) => socket.on("ping", (cb: (v: string) => void) => cb("pong")));
    const manager = createManager(handle, mode);
    const lost = manager.socket("/nope");
    lost.connect();
    const [err] = await waitFor(lost, "connect_error");
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("Invalid namespace");
    expect(lost.connected).toBe(false);
    const main = manager.socket("/");
    main.connect();
    await waitFor(main, "connect");
    expect(await main.timeout(3000).emitWithAck("ping")).toBe("pong");
  });

  it("io.of(regex) creates children on demand; parent listeners and middleware apply", async () => {
    const handle = await createIoServer();
    const parent = handle.io.of(/^\/dyn-\d+$/);
    const created: string[] = [];
    handle.io.on("new_namespace", (nsp: any) => created.push(nsp.name));
    const middlewareSaw: string[] = [];
    parent.use((socket, next) => {
      middlewareSaw.push(socket.nsp.name);
      next();
    });
    const connected = waitFor(parent, "connection");
    const client = await connectClient(handle, mode, {}, "/dyn-101");
    const [socket] = await connected;
    expect(socket.nsp.name).toBe("/dyn-101");
    expect(socket.nsp).not.toBe(parent);
    expect(handle.io.of("/dyn-101")).toBe(socket.nsp);
    expect(middlewareSaw).toEqual(["/dyn-101"]);
    expect(created).toEqual(["/dyn-101"]);
    expect(client.connected).toBe(true);
    const refused = createClient(handle, mode, {}, "/dyn-abc");
    const [err] = await waitFor(refused, "connect_error");
    expect(err.message).toBe("Invalid namespace");
  });

  it("io.of(regex) with a stateful flag is refused", async () => {
    const handle = await createIoServer();
    expect(() => handle.io.of(/^\/x-\d+$/g)).toThrow("stateful regular expressions are not supported");
  });

  it("io.of(fn) decides from the name and the auth payload", async () => {
    const handle = await createIoServer();
    const seen: Array<[string, unknown]> = [];
    const parent = handle.io.of((name, auth, next) => {
      seen.push([name, auth]);
      next(null, name.startsWith("/team-") && auth.token === "ok");
    });
    const connected = waitFor(parent, "connection");
    await connectClient(handle, mode, { auth: { token: "ok" } }, "/team-a");
    const [socket] = await connected;
    expect(socket.nsp.name).toBe("/team-a");
    expect(socket.handshake.auth).toEqual({ token: "ok" });
    const denied = createClient(handle, mode, { auth: { token: "bad" } }, "/team-b");
    const [err] = await waitFor(denied, "connect_error");
    expect(err.message).toBe("Invalid namespace");
    expect(seen).toEqual([
      ["/team-a", { token: "ok" }],
      ["/team-b", { token: "bad" }],
    ]);
  });

  it("a parent's broadcasts reach every child exactly once, and nothing else", async () => {
    const handle = await createIoServer();
    const parent = handle.io.of(/^\/room-\w+$/);
    handle.io.of("/unrelated");
    const a = await connectPair(handle, mode, {}, "/room-a");
    const b = await connectPair(handle, mode, {}, "/room-b");
    const c = await connectPair(handle, mode, {}, "/unrelated");
    const main = await connectPair(handle, mode);
    const logs = [a, b, c, main].map((p) => recordEvents(p.client));
    a.socket.join("vip");
    parent.emit("to-all", 1);
    parent.to("vip").emit("to-vip", 2);
    parent.except("vip").emit("to-others", 3);
    await barrier([a, b, c, main]);
    expect(logs[0]).toEqual([
      ["to-all", 1],
      ["to-vip", 2],
    ]);
    expect(logs[1]).toEqual([
      ["to-all", 1],
      ["to-others", 3],
    ]);
    expect(logs[2]).toEqual([]);
    expect(logs[3]).toEqual([]);
  });

  it("fetchSockets() on a parent namespace is refused", async () => {
    const handle = await createIoServer();
    const parent = handle.io.of(/^\/p-\d+$/);
    expect(() => parent.fetchSockets()).toThrow("fetchSockets() is not supported on parent namespaces");
  });

  it("io.of(name) matching a regex parent becomes its child", async () => {
    const handle = await createIoServer();
    const parent = handle.io.of(/^\/auto-\d+$/);
    const events: string[] = [];
    parent.on("connection", (socket) => events.push(socket.nsp.name));
    const child = handle.io.of("/auto-7");
    const connected = waitFor(child, "connection");
    await connectClient(handle, mode, {}, "/auto-7");
    await connected;
    expect(events).toEqual(["/auto-7"]);
  });

  it("cleanupEmptyChildNamespaces removes a child when its last socket leaves", async () => {
    const handle = await createIoServer({ cleanupEmptyChildNamespaces: true });
    handle.io.of(/^\/tmp-\d+$/);
    const created: string[] = [];
    handle.io.on("new_namespace", (nsp: any) => created.push(nsp.name));
    const first = await connectPair(handle, mode, {}, "/tmp-1");
    const second = await connectPair(handle, mode, {}, "/tmp-1");
    expect(created).toEqual(["/tmp-1"]);
    const child = first.socket.nsp;
    let gone = waitFor(first.socket, "disconnect");
    first.client.disconnect();
    await gone;
    expect(child.sockets.size).toBe(1);
    gone = waitFor(second.socket, "disconnect");
    second.client.disconnect();
    await gone;
    expect(child.sockets.size).toBe(0);
    // the next connection to that name creates a fresh child
    const third = await connectPair(handle, mode, {}, "/tmp-1");
    expect(created).toEqual(["/tmp-1", "/tmp-1"]);
    expect(third.socket.nsp).not.toBe(child);
  });

  it("without cleanupEmptyChildNamespaces an empty child is kept", async () => {
    const handle = await createIoServer();
    handle.io.of(/^\/keep-\d+$/);
    const created: string[] = [];
    handle.io.on("new_namespace", (nsp: any) => created.push(nsp.name));
    const first = await connectPair(handle, mode, {}, "/keep-1");
    const gone = waitFor(first.socket, "disconnect");
    first.client.disconnect();
    await gone;
    const again = await connectPair(handle, mode, {}, "/keep-1");
    expect(created).toEqual(["/keep-1"]);
    expect(again.socket.nsp).toBe(first.socket.nsp);
  });

  it("cleanupEmptyChildNamespaces also removes a child whose only socket was refused by middleware", async () => {
    const handle = await createIoServer({ cleanupEmptyChildNamespaces: true });
    const parent = handle.io.of(/^\/guarded-\d+$/);
    let allow = false;
    parent.use((_socket, next) => next(allow ? undefined : new Error("not now")));
    const created: string[] = [];
    handle.io.on("new_namespace", (nsp: any) => created.push(nsp.name));
    const refused = createClient(handle, mode, {}, "/guarded-1");
    const [err] = await waitFor(refused, "connect_error");
    expect(err.message).toBe("not now");
    allow = true;
    await connectPair(handle, mode, {}, "/guarded-1");
    expect(created).toEqual(["/guarded-1", "/guarded-1"]);
  });

  it("several namespaces share one connection, each with its own socket and traffic", async () => {
    const handle = await createIoServer();
    const manager = createManager(handle, mode);
    const serverSockets = new Map<string, any>();
    for (const name of ["/", "/a", "/b"]) {
      handle.io.of(name).on("connection", (s) => {
        serverSockets.set(name, s);
        s.on("whoami", (cb: (v: string) => void) => cb(s.nsp.name));
      });
    }
    const clients = ["/", "/a", "/b"].map((name) => manager.socket(name));
    await Promise.all(clients.map((c) => waitFor(c, "connect")));
    if (mode === "upgrade") await waitForUpgrade(clients[0]);
    expect(handle.io.engine.clientsCount).toBe(1);
    const ids = new Set([...serverSockets.values()].map((s) => s.id));
    expect(ids.size).toBe(3);
    const connIds = new Set([...serverSockets.values()].map((s) => s.conn.id));
    expect(connIds.size).toBe(1);
    for (const s of serverSockets.values()) expect(ids.has(s.conn.id)).toBe(false);
    const answers = await Promise.all(clients.map((c) => c.timeout(3000).emitWithAck("whoami")));
    expect(answers).toEqual(["/", "/a", "/b"]);

    const logs = clients.map((c) => recordEvents(c));
    handle.io.of("/a").emit("only-a", "x");
    const pairs = ["/", "/a", "/b"].map((name, i) => ({ client: clients[i], socket: serverSockets.get(name) }));
    await barrier(pairs);
    expect(logs).toEqual([[], [["only-a", "x"]], []]);

    // leaving one namespace keeps the others (and the connection) up
    const left = waitFor(serverSockets.get("/a"), "disconnect");
    clients[1].disconnect();
    const [reason] = await left;
    expect(reason).toBe("client namespace disconnect");
    expect(await clients[2].timeout(3000).emitWithAck("whoami")).toBe("/b");
    expect(handle.io.engine.clientsCount).toBe(1);
  });
});

describe("the CONNECT reply on WebSocket", () => {
  it("leaves in a flush of its own, before what the connection handlers emit", async () => {
    const handle = await createIoServer();
    const flushed: string[][] = [];
    handle.io.engine.on("flush", (_conn: unknown, packets: Array<{ data?: unknown }>) =>
      flushed.push(packets.map((p) => String(p.data ?? ""))),
    );
    handle.io.of("/custom").on("connection", (socket) => socket.emit("auth", 1));
    const client = createClient(handle, "websocket", {}, "/custom");
    await waitFor(client, "auth");
    const connectFlush = flushed.findIndex((packets) => packets.some((d) => d.startsWith("0/custom,")));
    expect(connectFlush).toBeGreaterThanOrEqual(0);
    expect(flushed[connectFlush]).toHaveLength(1);
    expect(flushed.slice(connectFlush + 1).flat()).toContain('2/custom,["auth",1]');
  });
});
