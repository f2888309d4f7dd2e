/**
 * The server-side Socket: id vs engine id, handshake fields, data,
 * connected/disconnected, conn/request, and every disconnect path with the
 * reasons seen on both sides (features.md B10), connectTimeout.
 */
import { Socket as EngineSocket } from "engine.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  closeAll,
  connectPair,
  createIoServer,
  createManager,
  MODES,
  onClose,
  parseOpenPacket,
  rawRequest,
  waitFor,
  waitForUpgrade,
  type IoServerHandle,
} from "../../helpers/io.js";

afterEach(closeAll);

/** A bare Engine.IO client that never joins a namespace. */
function rawEngineClient(handle: IoServerHandle, transports: string[]): EngineSocket {
  const socket = new EngineSocket(handle.url, { path: "/socket.io/", transports: transports as any });
  onClose(() => {
    socket.close();
  });
  return socket;
}

describe.each(MODES)("socket (%s)", { timeout: 10000 }, (mode) => {
  it("has its own id, not the engine session id; one id per namespace connection", async () => {
    const handle = await createIoServer();
    const manager = createManager(handle, mode);
    const serverSockets: any[] = [];
    handle.io.on("connection", (s) => serverSockets.push(s));
    handle.io.of("/b").on("connection", (s) => serverSockets.push(s));
    const a = manager.socket("/");
    const b = manager.socket("/b");
    await Promise.all([waitFor(a, "connect"), waitFor(b, "connect")]);
    const [sa, sb] = serverSockets.sort((x) => (x.nsp.name === "/" ? -1 : 1));
    expect(sa.id).toBe(a.id);
    expect(sb.id).toBe(b.id);
    expect(sa.id).not.toBe(sb.id);
    expect(sa.conn.id).toBe(sb.conn.id);
    expect(sa.id).not.toBe(sa.conn.id);
    expect(sa.conn.id).toBe(manager.engine.id);
    expect(sa.id).toMatch(/^[\w-]{20}$/);
  });

  it("handshake fields", async () => {
    const handle = await createIoServer();
    const before = Date.now();
    const { socket } = await connectPair(handle, mode, {
      query: { room: "lobby", n: "1" },
      auth: { token: "abc", nested: { x: 1 } },
      extraHeaders: { "x-custom": "yes" },
    });
    const hs = socket.handshake;
    expect(hs.headers.host).toBe(`127.0.0.1:${handle.port}`);
    expect(hs.headers["x-custom"]).toBe("yes");
    expect(typeof hs.time).toBe("string");
    expect(Number.isNaN(Date.parse(hs.time))).toBe(false);
    expect(["127.0.0.1", "::ffff:127.0.0.1"]).toContain(hs.address);
    expect(hs.xdomain).toBe(false);
    expect(hs.secure).toBe(false);
    expect(typeof hs.issued).toBe("number");
    expect(hs.issued).toBeGreaterThanOrEqual(before - 5);
    expect(hs.issued).toBeLessThanOrEqual(Date.now());
    const firstTransport = mode === "websocket" ? "websocket" : "polling";
    expect(hs.url.startsWith("/socket.io/?")).toBe(true);
    expect(hs.url).toContain(`transport=${firstTransport}`);
    expect(hs.url).toContain("room=lobby");
    expect(hs.query).toMatchObject({ EIO: "4", transport: firstTransport, room: "lobby", n: "1" });
    expect(hs.auth).toEqual({ token: "abc", nested: { x: 1 } });
    expect(socket.request.headers).toEqual(hs.headers);
  });

  it("handshake: auth defaults to {}, xdomain follows the Origin header", async () => {
    const handle = await createIoServer();
    const { socket } = await connectPair(handle, mode, { extraHeaders: { origin: "http://example.test" } });
    expect(socket.handshake.auth).toEqual({});
    expect(socket.handshake.xdomain).toBe(true);
    expect(socket.handshake.headers.origin).toBe("http://example.test");
  });

  it("data, connected/disconnected, conn and nsp", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    expect(socket.data).toEqual({});
    socket.data.user = { id: 7 };
    const [fetched] = await handle.io.fetchSockets();
    expect(fetched.data).toEqual({ user: { id: 7 } });
    expect(socket.connected).toBe(true);
    expect(socket.disconnected).toBe(false);
    expect(socket.nsp).toBe(handle.io.sockets);
    if (mode === "upgrade") await waitForUpgrade(client);
    expect(socket.conn.transport.name).toBe(mode === "polling" ? "polling" : "websocket");
    const gone = waitFor(socket, "disconnect");
    client.disconnect();
    await gone;
    expect(socket.connected).toBe(false);
    expect(socket.disconnected).toBe(true);
  });

});

describe("upgrade", { timeout: 10000 }, () => {
  it("starts on polling and moves the server socket's transport to websocket, same socket", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, "upgrade", { waitUpgrade: false });
    const id = socket.id;
    if (socket.conn.transport.name !== "websocket") {
      expect(socket.conn.transport.name).toBe("polling");
      const [transport] = await waitFor(socket.conn, "upgrade");
      expect(transport.name).toBe("websocket");
    }
    await waitForUpgrade(client);
    expect(socket.conn.transport.name).toBe("websocket");
    expect(socket.id).toBe(id);
    expect(socket.handshake.query.transport).toBe("polling");
  });
});

describe.each(MODES)("disconnect reasons (%s)", { timeout: 10000 }, (mode) => {
  it("socket.disconnect(): server namespace disconnect / io server disconnect, connection kept", async () => {
    const handle = await createIoServer();
    const manager = createManager(handle, mode);
    const sockets = new Map<string, any>();
    for (const name of ["/", "/a"]) handle.io.of(name).on("connection", (s) => sockets.set(name, s));
    const main = manager.socket("/");
    const a = manager.socket("/a");
    await Promise.all([waitFor(main, "connect"), waitFor(a, "connect")]);
    const serverSide = waitFor(sockets.get("/a"), "disconnect");
    const clientSide = waitFor(a, "disconnect");
    sockets.get("/a").disconnect();
    expect((await serverSide)[0]).toBe("server namespace disconnect");
    expect((await clientSide)[0]).toBe("io server disconnect");
    expect(main.connected).toBe(true);
    expect(sockets.get("/").connected).toBe(true);
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("socket.disconnect(true): every namespace of the client is disconnected and the connection closed", async () => {
    const handle = await createIoServer();
    const manager = createManager(handle, mode);
    const sockets = new Map<string, any>();
    for (const name of ["/", "/a"]) handle.io.of(name).on("connection", (s) => sockets.set(name, s));
    const main = manager.socket("/");
    const a = manager.socket("/a");
    await Promise.all([waitFor(main, "connect"), waitFor(a, "connect")]);
    const serverSide = [waitFor(sockets.get("/"), "disconnect"), waitFor(sockets.get("/a"), "disconnect")];
    const clientSide = [waitFor(main, "disconnect"), waitFor(a, "disconnect")];
    const connClosed = waitFor(sockets.get("/").conn, "close");
    sockets.get("/a").disconnect(true);
    for (const p of serverSide) expect((await p)[0]).toBe("server namespace disconnect");
    for (const p of clientSide) expect((await p)[0]).toBe("io server disconnect");
    await connClosed;
    expect(handle.io.engine.clientsCount).toBe(0);
  });

  it("client socket.disconnect(): client namespace disconnect / io client disconnect", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const serverSide = waitFor(socket, "disconnect");
    const clientSide = waitFor(client, "disconnect");
    client.disconnect();
    expect((await serverSide)[0]).toBe("client namespace disconnect");
    expect((await clientSide)[0]).toBe("io client disconnect");
  });

  it("disconnecting (rooms present) fires before disconnect (rooms gone), with the same reason", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    socket.join("r");
    const seen: Array<[string, string, string[]]> = [];
    socket.on("disconnecting", (reason: string) => seen.push(["disconnecting", reason, [...socket.rooms].sort()]));
    socket.on("disconnect", (reason: string) => seen.push(["disconnect", reason, [...socket.rooms]]));
    const done = waitFor(socket, "disconnect");
    client.disconnect();
    await done;
    expect(seen).toEqual([
      ["disconnecting", "client namespace disconnect", [socket.id, "r"].sort()],
      ["disconnect", "client namespace disconnect", []],
    ]);
  });

  it("client closes its engine connection: transport close", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const serverSide = waitFor(socket, "disconnect");
    client.io.engine.close();
    expect((await serverSide)[0]).toBe("transport close");
  });

  it("a client that stops answering pings: ping timeout", async () => {
    const handle = await createIoServer({ pingInterval: 100, pingTimeout: 100 });
    const { client, socket } = await connectPair(handle, mode);
    const engine = client.io.engine as any;
    const send = engine._sendPacket;
    engine._sendPacket = function (type: string, ...rest: unknown[]) {
      if (type === "pong") return;
      return send.call(this, type, ...rest);
    };
    const started = Date.now();
    const [reason] = await waitFor(socket, "disconnect", 3000);
    expect(reason).toBe("ping timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it("a client that answers pings stays connected across several intervals", async () => {
    const handle = await createIoServer({ pingInterval: 50, pingTimeout: 200 });
    const { client, socket } = await connectPair(handle, mode);
    let pongs = 0;
    socket.conn.on("heartbeat", () => pongs++);
    while (pongs < 4) await waitFor(socket.conn, "heartbeat", 1000);
    expect(socket.connected).toBe(true);
    expect(client.connected).toBe(true);
  });

  it("connectTimeout closes a connection that never joins a namespace", async () => {
    const handle = await createIoServer({ connectTimeout: 200 });
    const raw = rawEngineClient(handle, mode === "websocket" ? ["websocket"] : mode === "polling" ? ["polling"] : ["polling", "websocket"]);
    await waitFor(raw, "open");
    const opened = Date.now();
    await waitFor(raw, "close", 3000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(100);
    expect(handle.io.engine.clientsCount).toBe(0);
  });

  it("connectTimeout does not affect a connection that joined a namespace", async () => {
    const handle = await createIoServer({ connectTimeout: 100 });
    const { client, socket } = await connectPair(handle, mode);
    socket.on("ping", (cb: () => void) => cb());
    // wait well past the deadline (bounded), then check with a round trip
    await new Promise((r) => setTimeout(r, 300));
    await client.timeout(2000).emitWithAck("ping");
    expect(socket.connected).toBe(true);
  });
});

/**
 * A namespace socket on a hand-driven transport, for input the official
 * client never sends. Returns the server-side socket and a `send(text)`.
 */
async function handDriven(handle: IoServerHandle, transport: "polling" | "websocket") {
  const connected = waitFor(handle.io, "connection");
  if (transport === "polling") {
    const hs = await rawRequest(`${handle.url}/socket.io/?EIO=4&transport=polling`);
    const { sid } = parseOpenPacket(hs.body);
    const post = (body: string) =>
      rawRequest(`${handle.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain;charset=UTF-8" },
      }).catch(() => undefined);
    await post("40");
    const [socket] = await connected;
    return { socket, send: (text: string) => void post(text) };
  }
  const ws = new WebSocket(`ws://127.0.0.1:${handle.port}/socket.io/?EIO=4&transport=websocket`);
  onClose(() => ws.terminate());
  await waitFor(ws, "message");
  ws.send("40");
  const [socket] = await connected;
  return { socket, send: (text: string) => ws.send(text) };
}

describe.each(["polling", "websocket"] as const)("disconnect reasons from the transport (%s)", { timeout: 10000 }, (transport) => {
  it("an undecodable Engine.IO packet: parse error", async () => {
    const handle = await createIoServer();
    const { socket, send } = await handDriven(handle, transport);
    const reason = waitFor(socket, "disconnect");
    send("x-not-a-packet");
    expect((await reason)[0]).toBe("parse error");
  });

  it("a ping from a v4 client (wrong heartbeat direction): transport error", async () => {
    const handle = await createIoServer();
    const { socket, send } = await handDriven(handle, transport);
    const reason = waitFor(socket, "disconnect");
    send("2");
    expect((await reason)[0]).toBe("transport error");
  });
});
