/**
 * Disconnect causes: socket.io's reason strings unchanged, a structured
 * `cause` in the second argument of `disconnect` (socket) and `close`
 * (engine socket), and io.stats() counting them per namespace, cause and
 * transport. Official clients where they can produce the situation; a raw
 * `ws` client speaking the protocol where the client has to misbehave.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Server } from "../../../src/index.js";
import {
  closeAll,
  connectPair,
  createManager,
  MODES,
  onClose,
  rawRequest,
  waitFor,
  withTimeout,
} from "../../helpers/io.js";
import { startTidewire } from "../../helpers/tidewire-server.js";

afterEach(closeAll);

const server = (opts: Record<string, unknown> = {}) => startTidewire(opts);

/** The next server-side socket's `disconnect` arguments, and its engine socket's `close` arguments. */
function nextDisconnect(io: Server, nsp = "/") {
  return new Promise<{ reason: string; details: any; engine: Promise<[string, any]> }>((resolve) => {
    io.of(nsp).once("connection", (socket: any) => {
      const engine = waitFor<[string, any]>(socket.conn, "close", 5000);
      socket.once("disconnect", (reason: string, details: any) => resolve({ reason, details, engine }));
    });
  });
}

/** A raw WebSocket client speaking Engine.IO v4 / Socket.IO v5. */
async function rawClient(port: number, opts: { connect?: boolean; answerPings?: number } = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  onClose(() => ws.terminate());
  let pings = 0;
  const connected = new Promise<void>((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith("0") && opts.connect !== false) ws.send("40");
      if (text.startsWith("40")) resolve();
      if (text === "2" && pings++ < (opts.answerPings ?? Infinity)) ws.send("3");
    });
  });
  if (opts.connect !== false) await withTimeout(connected, 3000, "raw client connected");
  else await waitFor(ws, "open", 3000);
  return ws;
}

describe("disconnect causes", () => {
  it.each(MODES)("client disconnect() over %s: client_namespace_disconnect, then client_closed on the engine", async (mode) => {
    const h = await server();
    const next = nextDisconnect(h.io);
    const { client } = await connectPair(h, mode);
    client.disconnect();
    const { reason, details, engine } = await next;
    expect(reason).toBe("client namespace disconnect");
    const transport = mode === "polling" ? "polling" : "websocket";
    expect(details.cause).toEqual({ code: "client_namespace_disconnect", transport });
    const [engineReason, engineDetails] = await engine;
    expect(engineReason).toBe("transport close");
    expect(engineDetails.cause.code).toBe("client_closed");
    if (transport === "websocket") expect(engineDetails.cause.wsCode).toBe(1005);
  });

  it("server socket.disconnect(): namespace_disconnect; disconnect(true): server_disconnect", async () => {
    const h = await server();
    let next = nextDisconnect(h.io);
    let pair = await connectPair(h, "websocket");
    pair.socket.disconnect();
    let d = await next;
    expect(d.reason).toBe("server namespace disconnect");
    expect(d.details.cause).toEqual({ code: "namespace_disconnect", transport: "websocket" });
    next = nextDisconnect(h.io);
    pair = await connectPair(h, "polling");
    pair.socket.disconnect(true);
    d = await next;
    expect(d.reason).toBe("server namespace disconnect");
    expect(d.details.cause).toEqual({ code: "server_disconnect", transport: "polling" });
    const [engineReason, engineDetails] = await d.engine;
    expect(engineReason).toBe("forced close");
    expect(engineDetails.cause.code).toBe("server_disconnect");
  });

  it("io.close(): server shutting down / server_close, on the socket and on the engine", async () => {
    const h = await server();
    const next = nextDisconnect(h.io);
    await connectPair(h, "websocket");
    await h.io.close();
    const d = await next;
    expect(d.reason).toBe("server shutting down");
    expect(d.details.cause.code).toBe("server_close");
    const [, engineDetails] = await d.engine;
    expect(engineDetails.cause).toEqual({ code: "server_close", transport: "websocket" });
  });

  it("ping timeout: the last round trip and how long the pong was awaited", async () => {
    const h = await server({ pingInterval: 80, pingTimeout: 120 });
    const next = nextDisconnect(h.io);
    await rawClient(h.port, { answerPings: 1 });
    const d = await withTimeout(next, 3000, "ping timeout");
    expect(d.reason).toBe("ping timeout");
    expect(d.details.cause.code).toBe("ping_timeout");
    expect(d.details.cause.transport).toBe("websocket");
    expect(typeof d.details.cause.rttMs).toBe("number");
    expect(d.details.cause.rttMs).toBeGreaterThanOrEqual(0);
    expect(d.details.cause.rttMs).toBeLessThan(80);
    expect(d.details.cause.pongWaitMs).toBeGreaterThanOrEqual(115);
  });

  it("ping timeout before any pong: rttMs is null", async () => {
    const h = await server({ pingInterval: 50, pingTimeout: 80 });
    const next = nextDisconnect(h.io);
    await rawClient(h.port, { answerPings: 0 });
    const d = await withTimeout(next, 3000, "ping timeout");
    expect(d.details.cause).toMatchObject({ code: "ping_timeout", rttMs: null });
  });

  it("buffer overflow: the queued bytes and the limit", async () => {
    const h = await server({ maxBufferedBytes: 20_000 });
    const next = nextDisconnect(h.io);
    // A polling client that connects and then never polls again.
    const open = await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse(open.body.toString().slice(1)).sid;
    const connection = waitFor<[any]>(h.io, "connection", 3000);
    await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
    const [socket] = await connection;
    // What one turn writes is judged by the backlog before it: the second turn's write overflows.
    for (let i = 0; i < 20 && socket.connected; i++) {
      socket.emit("big", "x".repeat(6000));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const d = await withTimeout(next, 3000, "overflow");
    expect(d.reason).toBe("buffer overflow");
    expect(d.details).toBeInstanceOf(Error);
    expect(d.details.cause).toMatchObject({ code: "buffer_overflow", transport: "polling", limitBytes: 20_000 });
    expect(d.details.cause.queuedBytes).toBeGreaterThan(20_000);
    expect(h.io.stats().overflowCloses).toBe(1);
  });

  it("transport error: the WebSocket close code of a protocol violation (1009: message too big)", async () => {
    const h = await server({ maxHttpBufferSize: 1000 });
    const next = nextDisconnect(h.io);
    const ws = await rawClient(h.port);
    ws.send("42" + JSON.stringify(["big", "x".repeat(5000)]));
    const d = await withTimeout(next, 3000, "transport error");
    expect(d.reason).toBe("transport error");
    expect(d.details).toBeInstanceOf(Error);
    expect(d.details.type).toBe("TransportError");
    expect(d.details.cause).toMatchObject({ code: "transport_error", transport: "websocket", wsCode: 1009 });
  });

  it("transport close without a close frame: transport_error, wsCode 1006", async () => {
    const h = await server();
    const next = nextDisconnect(h.io);
    const ws = await rawClient(h.port);
    (ws as any)._socket.end();
    const d = await withTimeout(next, 3000, "abrupt close");
    expect(d.reason).toBe("transport close");
    expect(d.details.cause).toMatchObject({ code: "transport_error", transport: "websocket", wsCode: 1006 });
  });

  it("a reset connection: transport_error with the errno", async () => {
    const h = await server();
    const next = nextDisconnect(h.io);
    const ws = await rawClient(h.port);
    (ws as any)._socket.resetAndDestroy();
    const d = await withTimeout(next, 3000, "reset");
    expect(d.reason).toBe("transport close");
    expect(d.details.cause).toMatchObject({ code: "transport_error", transport: "websocket", errno: "ECONNRESET" });
  });

  it("parse error: which rule the packet broke", async () => {
    const h = await server();
    const next = nextDisconnect(h.io);
    const ws = await rawClient(h.port);
    ws.send("4" + "2[not json");
    const d = await withTimeout(next, 3000, "parse error");
    expect(d.reason).toBe("forced close");
    expect(d.details.cause.code).toBe("parse_error");
    expect(d.details.cause.rule).toMatch(/not valid JSON/);
  });

  it("connect timeout, on the engine socket's close", async () => {
    const h = await server({ connectTimeout: 100 });
    const conn = waitFor<[any]>(h.io.engine, "connection", 3000);
    await rawClient(h.port, { connect: false });
    const [session] = await conn;
    const [reason, details] = await waitFor<[string, any]>(session, "close", 3000);
    expect(reason).toBe("forced close");
    expect(details.cause).toEqual({ code: "connect_timeout", transport: "websocket" });
  });
});

describe("io.stats()", () => {
  it("counts what official clients did: sessions, sockets per namespace and transport, packets, broadcasts, disconnects", async () => {
    const h = await server();
    h.io.of("/chat");
    h.io.on("connection", (s: any) => s.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v)));
    const a = await connectPair(h, "websocket");
    const b = await connectPair(h, "polling");
    const c = await connectPair(h, "upgrade");
    const manager = createManager(h, "websocket");
    const chat = manager.socket("/chat");
    await waitFor(chat, "connect", 3000);
    expect(await a.client.emitWithAck("echo", "hello")).toBe("hello");
    h.io.emit("news", 1);
    await Promise.all([a, b, c].map(({ client }) => waitFor(client, "news", 3000)));

    let stats = h.io.stats();
    expect(stats.sessions).toEqual({ polling: 1, websocket: 3 });
    expect(stats.namespaces["/"].sockets).toEqual({ polling: 1, websocket: 2 });
    expect(stats.namespaces["/chat"].sockets).toEqual({ polling: 0, websocket: 1 });
    expect(stats.namespaces["/"].connections).toBe(3);
    expect(stats.handshakes).toEqual({ polling: 2, websocket: 2 });
    expect(stats.upgrades).toBe(1);
    expect(stats.broadcasts).toBe(1);
    expect(stats.deliveries).toBe(3);
    expect(stats.packetsIn).toBeGreaterThanOrEqual(5); // 4 CONNECTs and the echo
    expect(stats.packetsOut).toBeGreaterThanOrEqual(8); // 4 CONNECT replies, the ack, 3 broadcasts
    expect(stats.bytesIn).toBeGreaterThan(0);
    expect(stats.bytesOut).toBeGreaterThan(stats.bytesIn);
    expect(stats.sendBufferBytes).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);

    const gone = waitFor(b.socket, "disconnect", 3000);
    b.client.disconnect();
    await gone;
    const gone2 = waitFor(a.socket, "disconnect", 3000);
    a.socket.disconnect();
    await gone2;
    stats = h.io.stats();
    expect(stats.namespaces["/"].disconnects.client_namespace_disconnect).toEqual({ polling: 1, websocket: 0 });
    expect(stats.namespaces["/"].disconnects.namespace_disconnect).toEqual({ polling: 0, websocket: 1 });
    expect(stats.disconnects.client_namespace_disconnect).toBe(1);
    expect(stats.namespaces["/"].sockets).toEqual({ polling: 0, websocket: 1 });
  });

  it("counts ack timeouts", async () => {
    const h = await server();
    const { client, socket } = await connectPair(h, "websocket");
    client.on("ignore", () => undefined);
    await expect(socket.timeout(50).emitWithAck("ignore")).rejects.toThrow(/timed out/);
    await expect(h.io.timeout(50).emitWithAck("ignore")).rejects.toThrow(/timed out/);
    expect(h.io.stats().ackTimeouts).toBe(2);
  });
});
