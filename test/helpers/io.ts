/**
 * Factories for Socket.IO-level integration tests: a Server attached to a
 * real http server on 127.0.0.1 (port 0), official socket.io-client clients
 * for each transport mode, event waiting with a deadline, and a `closeAll()`
 * for `afterEach` that tears down everything created here.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  io as ioClient,
  Manager,
  type ManagerOptions,
  type Socket as ClientSocket,
  type SocketOptions,
} from "socket.io-client";
import type { Socket as EngineClientSocket } from "engine.io-client";
import { Server, type ServerOptions } from "./impl.js";

export type TransportMode = "polling" | "websocket" | "upgrade";
export const MODES: readonly TransportMode[] = ["polling", "websocket", "upgrade"];

export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/** Anything with once/off or once/removeListener: node EventEmitters and the clients' emitters. */
export interface Emitterish {
  once(event: any, fn: (...args: any[]) => void): unknown;
  off?(event?: any, fn?: any): unknown;
  removeListener?(event: any, fn: (...args: any[]) => void): unknown;
}

export interface IoServerHandle {
  io: Server;
  httpServer: HttpServer;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

const cleanups: Array<() => Promise<void> | void> = [];

/** Register a teardown step run (in reverse order) by `closeAll()`. */
export function onClose(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Resolves with the event's arguments, rejects after `timeoutMs`. */
export function waitFor<T extends any[] = any[]>(emitter: Emitterish, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: any[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      if (emitter.off) emitter.off(event, listener);
      else emitter.removeListener?.(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}

/** Rejects after `ms` with a message naming what did not happen. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Listen on 127.0.0.1, ephemeral port. */
export function listen(server: { listen: (...args: any[]) => unknown; address(): AddressInfo | string | null; once: (ev: string, fn: (...a: any[]) => void) => unknown }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Close an http(s) server and drop its connections; never rejects. */
export function closeHttpServer(server: HttpServer | { close(cb?: (err?: Error) => void): unknown; closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (!("listening" in server) || (server as HttpServer).listening) {
      server.close(() => resolve());
    } else {
      resolve();
    }
    server.closeAllConnections?.();
  });
}

/** Close a Socket.IO server, bounded so that a broken close cannot hang the teardown. */
async function closeIo(io: Server): Promise<void> {
  await withTimeout(
    new Promise<void>((resolve) => {
      try {
        io.close(() => resolve());
      } catch {
        resolve();
      }
    }),
    3000,
    "io.close()",
  ).catch(() => undefined);
}

/** Register a Server (and the servers it is attached to) for teardown by `closeAll()`. */
export function trackIo(io: Server, ...servers: Array<Parameters<typeof closeHttpServer>[0]>): void {
  onClose(async () => {
    await closeIo(io);
    for (const server of servers) await closeHttpServer(server);
  });
}

/** A port that was free a moment ago (for APIs that only take a port number). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await closeHttpServer(probe);
  return port;
}

/** Start an http server on 127.0.0.1:0 with a Server attached (options passed through). */
export async function createIoServer(opts: Partial<ServerOptions> = {}): Promise<IoServerHandle> {
  const httpServer = createServer();
  const io = new Server(httpServer, opts);
  onClose(async () => {
    await closeIo(io);
    await closeHttpServer(httpServer);
  });
  const port = await listen(httpServer);
  return { io, httpServer, port, url: `http://127.0.0.1:${port}` };
}

/** Client transport options for a mode. */
export function transportsFor(mode: TransportMode): string[] {
  return mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
}

/** Base options: forced new manager, no reconnection, transports for the mode. */
export function clientOptions(mode: TransportMode, opts: ClientOptions = {}): ClientOptions {
  return { transports: transportsFor(mode) as any, forceNew: true, reconnection: false, timeout: 5000, ...opts };
}

/** An official socket.io-client socket (not yet awaited). `target` is a url or a server handle plus namespace. */
export function createClient(
  target: string | IoServerHandle,
  mode: TransportMode,
  opts: ClientOptions = {},
  nsp = "/",
): ClientSocket {
  const base = typeof target === "string" ? target : target.url;
  const socket = ioClient(base + (nsp === "/" ? "" : nsp), clientOptions(mode, opts));
  onClose(() => {
    socket.disconnect();
    socket.io.engine?.close();
  });
  return socket;
}

/** A Manager for several namespaces over one connection. */
export function createManager(target: string | IoServerHandle, mode: TransportMode, opts: ClientOptions = {}): Manager {
  const base = typeof target === "string" ? target : target.url;
  const manager = new Manager(base, clientOptions(mode, opts));
  onClose(() => {
    manager.engine?.close();
  });
  return manager;
}

/** Resolves once the client's engine runs on WebSocket (immediately if it already does). */
export async function waitForUpgrade(socket: ClientSocket, timeoutMs = 3000): Promise<void> {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await waitFor(engine, "upgrade", timeoutMs);
}

/**
 * Create a client and wait until it is connected (and, in "upgrade" mode,
 * unless `waitUpgrade: false`, until it runs on WebSocket).
 */
export async function connectClient(
  target: string | IoServerHandle,
  mode: TransportMode,
  opts: ClientOptions & { waitUpgrade?: boolean } = {},
  nsp = "/",
): Promise<ClientSocket> {
  const { waitUpgrade = true, ...clientOpts } = opts;
  const socket = createClient(target, mode, clientOpts, nsp);
  await Promise.race([
    waitFor(socket, "connect", 4000),
    waitFor(socket, "connect_error", 4000).then(([err]) => {
      throw new Error(`connect_error: ${err?.message}`);
    }),
  ]);
  if (mode === "upgrade" && waitUpgrade) await waitForUpgrade(socket);
  return socket;
}

/** Connect `count` clients and resolve with them and their server-side sockets, in order. */
export async function connectMany(
  handle: IoServerHandle,
  mode: TransportMode,
  count: number,
  nsp = "/",
  opts: ClientOptions & { waitUpgrade?: boolean } = {},
): Promise<{ clients: ClientSocket[]; sockets: any[] }> {
  const clients: ClientSocket[] = [];
  const sockets: any[] = [];
  for (let i = 0; i < count; i++) {
    const { client, socket } = await connectPair(handle, mode, opts, nsp);
    clients.push(client);
    sockets.push(socket);
  }
  return { clients, sockets };
}

/** Connect one client and resolve with it and its server-side socket. */
export async function connectPair(
  handle: IoServerHandle,
  mode: TransportMode,
  opts: ClientOptions & { waitUpgrade?: boolean } = {},
  nsp = "/",
): Promise<{ client: ClientSocket; socket: any }> {
  const serverSide = waitFor(handle.io.of(nsp), "connection", 4000);
  const client = await connectClient(handle, mode, opts, nsp);
  const [socket] = await serverSide;
  // the client switches on sending the upgrade packet; the server a moment later, on receiving it
  if (mode === "upgrade" && opts.waitUpgrade !== false && socket.conn.transport.name !== "websocket") {
    await waitFor(socket.conn, "upgrade", 3000);
  }
  return { client, socket };
}

/** Tear down every server and client created by these helpers (use in afterEach). */
export async function closeAll(): Promise<void> {
  const steps = cleanups.splice(0).reverse();
  for (const step of steps) {
    try {
      await step();
    } catch {
      // teardown of one resource must not stop the others
    }
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP(S) request (no redirects, no decompression); the raw path is sent as given. */
export async function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; path?: string; body?: string; ca?: string | Buffer } = {},
): Promise<RawResponse> {
  const { request } = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  const u = new URL(url);
  return withTimeout(
    new Promise<RawResponse>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method: init.method ?? "GET",
          path: init.path ?? u.pathname + u.search,
          headers: { connection: "close", ...init.headers },
          ca: init.ca,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(init.body);
    }),
    4000,
    `${init.method ?? "GET"} ${init.path ?? url}`,
  );
}

/** Parse the Engine.IO open packet of a polling handshake response body. */
export function parseOpenPacket(body: Buffer | string): Record<string, any> {
  const text = body.toString();
  const first = text.split("\x1e")[0];
  if (!first.startsWith("0")) throw new Error(`not an open packet: ${JSON.stringify(text.slice(0, 80))}`);
  return JSON.parse(first.slice(1));
}

export type EventLog = Array<[string, ...any[]]>;

const BARRIER_EVENT = "__barrier__";

/** Record every event a client receives (name and arguments, in order), barrier events excluded. */
export function recordEvents(client: ClientSocket): EventLog {
  const log: EventLog = [];
  client.onAny((event: string, ...args: any[]) => {
    if (event !== BARRIER_EVENT) log.push([event, ...args]);
  });
  return log;
}

let barrierSeq = 0;

/**
 * Round-trip barrier: each server-side socket emits a marker directly to its
 * client, and this resolves once every client has it. Packets are delivered
 * in order on a connection, so anything written to those clients before the
 * barrier has arrived by then; what has not, was never sent.
 */
export async function barrier(pairs: Array<{ client: ClientSocket; socket: any }>, timeoutMs = 3000): Promise<void> {
  const token = ++barrierSeq;
  await Promise.all(
    pairs.map(({ client, socket }) => {
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off(BARRIER_EVENT, onMarker);
          reject(new Error(`barrier ${token} did not reach client ${client.id} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onMarker = (t: number) => {
          if (t !== token) return;
          clearTimeout(timer);
          client.off(BARRIER_EVENT, onMarker);
          resolve();
        };
        client.on(BARRIER_EVENT, onMarker);
      });
      socket.emit(BARRIER_EVENT, token);
      return arrived;
    }),
  );
}

/** The next message of a raw engine.io-client socket whose text starts with `prefix`. */
export function nextMessage(socket: EngineClientSocket, prefix: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off("message", onMessage);
      reject(new Error(`no message starting with ${JSON.stringify(prefix)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: unknown) => {
      if (typeof data === "string" && data.startsWith(prefix)) {
        clearTimeout(timer);
        socket.off("message", onMessage);
        resolve(data);
      }
    };
    socket.on("message", onMessage);
  });
}
