/**
 * Server construction and attachment: detached + attach/listen, http server,
 * port, https, http2 (allowHTTP1), path option, engine access and options
 * pass-through, close().
 */
import { readFileSync } from "node:fs";
import { createServer, Server as HttpServer } from "node:http";
import { createSecureServer } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { Adapter, Server } from "../../helpers/impl.js";
import {
  closeAll,
  connectClient,
  connectPair,
  createIoServer,
  freePort,
  listen,
  MODES,
  parseOpenPacket,
  rawRequest,
  trackIo,
  waitFor,
  type TransportMode,
} from "../../helpers/io.js";

const key = readFileSync(new URL("../../fixtures/test-key.pem", import.meta.url));
const cert = readFileSync(new URL("../../fixtures/test-cert.pem", import.meta.url));

afterEach(closeAll);

/** One event each way between a connected client and its server-side socket. */
async function assertEcho(io: InstanceType<typeof Server>, url: string, mode: TransportMode, clientOpts = {}) {
  io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, cb: (v: unknown) => void) => cb(value));
  });
  const client = await connectClient(url, mode, clientOpts);
  const reply = await client.timeout(3000).emitWithAck("echo", { n: 42 });
  expect(reply).toEqual({ n: 42 });
  return client;
}

describe.each(MODES)("server attachment (%s)", { timeout: 10000 }, (mode) => {
  it("new Server() then attach(httpServer)", async () => {
    const httpServer = createServer();
    const io = new Server();
    io.attach(httpServer);
    trackIo(io, httpServer);
    expect(io.httpServer).toBe(httpServer);
    const port = await listen(httpServer);
    await assertEcho(io, `http://127.0.0.1:${port}`, mode);
  });

  it("listen(httpServer) is an alias of attach", async () => {
    const httpServer = createServer();
    const io = new Server();
    expect(io.listen(httpServer)).toBe(io);
    trackIo(io, httpServer);
    const port = await listen(httpServer);
    await assertEcho(io, `http://127.0.0.1:${port}`, mode);
  });

  it("new Server(options) keeps its options for a later attach", async () => {
    const httpServer = createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const io = new Server({ path: "/ctor-path" });
    io.attach(httpServer);
    trackIo(io, httpServer);
    const port = await listen(httpServer);
    await assertEcho(io, `http://127.0.0.1:${port}`, mode, { path: "/ctor-path" });
    const res = await rawRequest(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(404);
  });

  it("new Server(httpServer, opts) with a custom path", async () => {
    const { io, url } = await createIoServer({ path: "/my-path" });
    await assertEcho(io, url, mode, { path: "/my-path" });
  });

  it("new Server(port) creates and listens on its own http server", async () => {
    const port = await freePort();
    const io = new Server(port);
    trackIo(io);
    expect(io.httpServer).toBeInstanceOf(HttpServer);
    if (!io.httpServer.listening) await waitFor(io.httpServer, "listening");
    await assertEcho(io, `http://127.0.0.1:${port}`, mode);
    // everything outside the path is answered 404 by that server
    const res = await rawRequest(`http://127.0.0.1:${port}/elsewhere`);
    expect(res.status).toBe(404);
  });

  it("https server", async () => {
    const httpsServer = createHttpsServer({ key, cert });
    const io = new Server(httpsServer);
    trackIo(io, httpsServer);
    const port = await listen(httpsServer);
    const connection = waitFor(io, "connection");
    await assertEcho(io, `https://127.0.0.1:${port}`, mode, { ca: cert.toString() });
    const [socket] = await connection;
    expect(socket.handshake.secure).toBe(true);
  });

  it("http2 secure server with allowHTTP1", async () => {
    const h2 = createSecureServer({ allowHTTP1: true, key, cert });
    const io = new Server(h2 as any);
    trackIo(io, h2 as any);
    const port = await listen(h2 as any);
    expect(io.httpServer).toBe(h2);
    await assertEcho(io, `https://127.0.0.1:${port}`, mode, { ca: cert.toString() });
  });

  it("io.engine counts clients and lets the application choose engine ids", async () => {
    const { io, url } = await createIoServer();
    let n = 0;
    io.engine.generateId = () => `custom-engine-id-${++n}`;
    const connections: any[] = [];
    io.on("connection", (s) => connections.push(s));
    const a = await connectClient(url, mode);
    const b = await connectClient(url, mode);
    expect(io.engine.clientsCount).toBe(2);
    expect(connections.map((s) => s.conn.id).sort()).toEqual(["custom-engine-id-1", "custom-engine-id-2"]);
    expect(a.io.engine.id).toMatch(/^custom-engine-id-/);
    for (const s of connections) expect(s.id).not.toBe(s.conn.id);
    // the client closes its engine session when its last namespace disconnects
    const gone = waitFor(connections.find((s) => s.conn.id === b.io.engine.id).conn, "close");
    b.disconnect();
    await gone;
    expect(io.engine.clientsCount).toBe(1);
    expect(a.connected).toBe(true);
  });
});

describe("server options and close", { timeout: 10000 }, () => {
  it("passes engine options through to the handshake", async () => {
    const { url } = await createIoServer({ pingInterval: 1234, pingTimeout: 567, maxHttpBufferSize: 4321 });
    const res = await rawRequest(`${url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(200);
    const open = parseOpenPacket(res.body);
    expect(open).toMatchObject({ pingInterval: 1234, pingTimeout: 567, maxPayload: 4321, upgrades: ["websocket"] });
    expect(typeof open.sid).toBe("string");
  });

  it("attach(srv, opts) uses the options given to attach", async () => {
    const httpServer = createServer();
    const io = new Server().attach(httpServer, { pingInterval: 2345 });
    trackIo(io, httpServer);
    const port = await listen(httpServer);
    const res = await rawRequest(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
    expect(parseOpenPacket(res.body).pingInterval).toBe(2345);
  });

  it("refuses an express-style request handler with a clear error", () => {
    const io = new Server();
    expect(() => io.attach((() => undefined) as any)).toThrow(
      "You are trying to attach socket.io to an express request handler function. Please pass a http.Server instance.",
    );
  });

  it("io.sockets is the main namespace", async () => {
    const { io } = await createIoServer();
    expect(io.sockets.name).toBe("/");
    expect(io.of("/")).toBe(io.sockets);
    expect(io.of("")).toBe(io.sockets);
  });

  it.each(MODES)("close(cb) disconnects every socket, closes the http server, resolves (%s)", async (mode) => {
    const { io, url, httpServer } = await createIoServer();
    io.of("/other");
    const main = await connectPair({ io, url, httpServer, port: 0 }, mode);
    const other = await connectPair({ io, url, httpServer, port: 0 }, mode, {}, "/other");
    const serverReasons = Promise.all([waitFor(main.socket, "disconnect"), waitFor(other.socket, "disconnect")]);
    const clientReasons = Promise.all([waitFor(main.client, "disconnect"), waitFor(other.client, "disconnect")]);
    let cbArgs: unknown[] | undefined;
    const closed = io.close((...args: unknown[]) => {
      cbArgs = args;
    });
    expect(closed).toBeInstanceOf(Promise);
    await closed;
    const [[r1], [r2]] = await serverReasons;
    expect([r1, r2]).toEqual(["server shutting down", "server shutting down"]);
    // the client sees its connection end; on polling the aborted GET may surface as a transport error
    const expected = mode === "polling" ? ["transport close", "transport error"] : ["transport close"];
    const [[c1], [c2]] = await clientReasons;
    expect(expected).toContain(c1);
    expect(expected).toContain(c2);
    expect(cbArgs).toBeDefined();
    expect(cbArgs![0]).toBeFalsy();
    expect(httpServer.listening).toBe(false);
    expect(io.engine.clientsCount).toBe(0);
  });

  it("close(cb) on a server that never listened reports ERR_SERVER_NOT_RUNNING and still resolves", async () => {
    const httpServer = createServer();
    const io = new Server(httpServer);
    let err: any;
    await io.close((e?: Error) => {
      err = e;
    });
    expect(err?.code).toBe("ERR_SERVER_NOT_RUNNING");
  });
});

describe.each(MODES)("Server API surface (%s)", { timeout: 10000 }, (mode) => {
  it("EventEmitter methods on the server are those of the main namespace", async () => {
    const handle = await createIoServer();
    const { io } = handle;
    const seen: string[] = [];
    const onEvery = (s: any) => seen.push(`on:${s.nsp.name}`);
    io.on("connection", onEvery);
    io.once("connection", (s) => seen.push(`once:${s.nsp.name}`));
    expect(io.listeners("connection")).toHaveLength(2);
    expect(io.sockets.listeners("connection")).toHaveLength(2);
    await connectPair(handle, mode);
    await connectPair(handle, mode);
    expect(seen).toEqual(["on:/", "once:/", "on:/"]);
    io.off("connection", onEvery);
    expect(io.listeners("connection")).toHaveLength(0);
    io.on("connect", (s) => seen.push(`connect:${s.nsp.name}`));
    await connectPair(handle, mode);
    expect(seen).toEqual(["on:/", "once:/", "on:/", "connect:/"]);
    io.removeAllListeners("connect");
    expect(io.sockets.listenerCount("connect")).toBe(0);
  });

  it("path(), serveClient() and connectTimeout() are chainable setters and getters", async () => {
    const io = new Server();
    expect(io.path()).toBe("/socket.io");
    expect(io.serveClient()).toBe(true);
    expect(io.connectTimeout()).toBe(45000);
    expect(io.path("/chained").serveClient(false).connectTimeout(150)).toBe(io);
    expect(io.path()).toBe("/chained");
    expect(io.serveClient()).toBe(false);
    expect(io.connectTimeout()).toBe(150);
    const httpServer = createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    io.attach(httpServer);
    trackIo(io, httpServer);
    const port = await listen(httpServer);
    const bundle = await rawRequest(`http://127.0.0.1:${port}/chained/socket.io.js`);
    expect(bundle.status).toBe(400);
    await assertEcho(io, `http://127.0.0.1:${port}`, mode, { path: "/chained" });
  });

  it("the adapter option takes a class or a factory function", async () => {
    const broadcasts: string[] = [];
    class RecordingAdapter extends Adapter {
      override broadcast(packet: any, opts: any) {
        broadcasts.push(`${this.nsp.name}:${packet.data[0]}`);
        super.broadcast(packet, opts);
      }
    }
    const withClass = await createIoServer({ adapter: RecordingAdapter as any });
    expect(withClass.io.of("/").adapter).toBeInstanceOf(RecordingAdapter);
    expect(withClass.io.of("/custom").adapter).toBeInstanceOf(RecordingAdapter);
    const a = await connectPair(withClass, mode);
    const got = waitFor(a.client, "news");
    withClass.io.emit("news", 1);
    expect(await got).toEqual([1]);

    const withFactory = await createIoServer({
      adapter: function (nsp: any) {
        return new RecordingAdapter(nsp);
      } as any,
    });
    expect(withFactory.io.of("/").adapter).toBeInstanceOf(RecordingAdapter);
    const b = await connectPair(withFactory, mode);
    const got2 = waitFor(b.client, "update");
    withFactory.io.to(b.socket.id).emit("update", 2);
    expect(await got2).toEqual([2]);
    expect(broadcasts).toEqual(["/:news", "/:update"]);
  });
});
