/**
 * Helpers for Engine.IO-level tests: an engine attached to a real http
 * server on 127.0.0.1 (port 0), official engine.io-client sockets, raw
 * polling requests and raw WebSocket clients, event waiting with a
 * deadline, and `closeAll()` for `afterEach`, which tears down everything
 * created here.
 *
 * `TEST_AGAINST=engine.io` runs a suite against the reference engine.io 6.6
 * instead of tidewire's sources, to prove the expectations right; tests of
 * tidewire-only behaviour skip themselves with `tidewireOnly`.
 */
import { createRequire } from "node:module";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Socket as ClientSocket, type SocketOptions } from "engine.io-client";
import { WebSocket } from "ws";
import type * as Engine from "../../src/engine/index.js";

export const againstReference = process.env.TEST_AGAINST === "engine.io";
/** `it.skipIf(tidewireOnly)` for behaviour engine.io does not have (or has differently). */
export const tidewireOnly = againstReference;

const require = createRequire(import.meta.url);
const impl: typeof Engine = againstReference ? require("engine.io") : await import("../../src/engine/index.js");

export const EngineServer = impl.Server;
export type EngineServer = Engine.Server;
export type EngineSocket = Engine.Socket;

export type TransportMode = "polling" | "websocket" | "upgrade";
export const MODES: readonly TransportMode[] = ["polling", "websocket", "upgrade"];

export interface EngineHandle {
  engine: Engine.Server;
  httpServer: http.Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The engine path with its trailing slash, e.g. `/engine.io/`. */
  path: string;
}

const cleanups: Array<() => Promise<void> | void> = [];

/** Registers a teardown step; `closeAll()` runs them in reverse order. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs every teardown step registered since the last call. */
export async function closeAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop() as () => Promise<void> | void;
    try {
      await fn();
    } catch {
      // teardown keeps going
    }
  }
}

/** Node EventEmitters and the clients' typed emitters (hence the loose signatures). */
export interface Emitterish {
  once(event: any, fn: any): unknown;
  on?(event: any, fn: any): unknown;
  off?(event: any, fn: any): unknown;
  removeListener?(event: any, fn: any): unknown;
}

/** Resolves with the event's arguments; rejects after `timeoutMs`. */
export function waitFor<T extends any[] = any[]>(
  emitter: Emitterish,
  event: string,
  timeoutMs = 3000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const listener = (...args: any[]): void => {
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

/** Collects `count` occurrences of an event (first argument of each). */
export function collect<T = any>(
  emitter: { on(event: any, fn: any): unknown; off(event: any, fn: any): unknown },
  event: string,
  count: number,
  timeoutMs = 5000,
): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const got: T[] = [];
    const listener = (value: T): void => {
      got.push(value);
      if (got.length === count) {
        clearTimeout(timer);
        emitter.off(event, listener);
        resolve(got);
      }
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms: got ${got.length}/${count} "${event}"`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** Listens on 127.0.0.1 with an ephemeral port. */
export function listenLocal(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeHttpServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An engine attached to a fresh http server (path `/engine.io` unless given). */
export async function startEngine(
  opts: Engine.ServerOptions = {},
  httpServer: http.Server = http.createServer(),
): Promise<EngineHandle> {
  const engine = new EngineServer(opts);
  engine.attach(httpServer, opts);
  const port = await listenLocal(httpServer);
  onCleanup(async () => {
    engine.close();
    await closeHttpServer(httpServer);
  });
  const base = (opts.path || "/engine.io").replace(/\/$/, "");
  return {
    engine,
    httpServer,
    port,
    url: `http://127.0.0.1:${port}`,
    path: opts.addTrailingSlash === false ? base : base + "/",
  };
}

// ---- official client --------------------------------------------------------

export function clientOptions(mode: TransportMode, extra: Partial<SocketOptions> = {}): Partial<SocketOptions> {
  const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
  return { transports: transports as any, upgrade: mode === "upgrade", ...extra };
}

/** An engine.io-client socket, closed by `closeAll()`. */
export function eioClient(handle: EngineHandle, mode: TransportMode, extra: Partial<SocketOptions> = {}): ClientSocket {
  const socket = new ClientSocket(handle.url, { path: handle.path, ...clientOptions(mode, extra) });
  onCleanup(() => {
    socket.close();
  });
  return socket;
}

/**
 * Resolves with the server-side session once the client is connected in
 * `mode` (for "upgrade", once the upgrade completed on both sides).
 */
export async function connectClient(
  handle: EngineHandle,
  mode: TransportMode,
  extra: Partial<SocketOptions> = {},
): Promise<{ client: ClientSocket; conn: Engine.Socket }> {
  const connection = waitFor<[Engine.Socket]>(handle.engine, "connection");
  const client = eioClient(handle, mode, extra);
  const [conn] = await connection;
  if (mode === "upgrade") {
    if (!conn.upgraded) await waitFor(conn, "upgrade");
    if (client.transport.name !== "websocket") await waitFor(client, "upgrade");
  } else if (client.readyState !== "open") {
    await waitFor(client, "open");
  }
  return { client, conn };
}

// ---- raw HTTP ---------------------------------------------------------------

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RawRequestOptions {
  method?: string;
  /** Path and query, e.g. `/engine.io/?EIO=4&transport=polling`. */
  path: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** One HTTP request on its own connection (no agent), aborted by `closeAll()` if still pending. */
export function request(handle: EngineHandle, opts: RawRequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: handle.port,
      method: opts.method ?? "GET",
      path: opts.path,
      headers: opts.headers,
      agent: false,
    });
    onCleanup(() => {
      req.destroy();
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
      });
    });
    req.end(opts.body);
  });
}

/** `<path>?EIO=4&transport=polling&...` (EIO and transport overridable). */
export function eioPath(handle: EngineHandle, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  const merged = { EIO: "4", transport: "polling", ...query };
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) params.set(k, v);
  return `${handle.path}?${params.toString()}`;
}

/** Polling handshake; returns the sid and the parsed open packet. */
export async function pollingHandshake(
  handle: EngineHandle,
  query: Record<string, string | undefined> = {},
): Promise<{ sid: string; open: Record<string, unknown>; response: RawResponse }> {
  const response = await request(handle, { path: eioPath(handle, query) });
  if (response.status !== 200) throw new Error(`handshake failed: ${response.status} ${response.text}`);
  const text = response.text;
  const first = text.startsWith("0") ? text : text.slice(text.indexOf(":") + 1);
  const end = first.indexOf("\x1e");
  const open = JSON.parse(first.slice(1, end === -1 ? undefined : end).replace(/\d+:4.*$/, ""));
  return { sid: open.sid, open, response };
}

export function pollGet(
  handle: EngineHandle,
  sid: string,
  query: Record<string, string | undefined> = {},
  headers?: http.OutgoingHttpHeaders,
): Promise<RawResponse> {
  return request(handle, { path: eioPath(handle, { sid, ...query }), headers });
}

export function pollPost(
  handle: EngineHandle,
  sid: string,
  body: string | Buffer,
  query: Record<string, string | undefined> = {},
  headers: http.OutgoingHttpHeaders = { "Content-Type": "text/plain;charset=UTF-8" },
): Promise<RawResponse> {
  return request(handle, { method: "POST", path: eioPath(handle, { sid, ...query }), body, headers });
}

// ---- raw WebSocket -----------------------------------------------------------

/** A raw ws client with a message inbox, closed by `closeAll()`. */
export class RawWs {
  readonly ws: WebSocket;
  readonly #inbox: Array<string | Buffer> = [];
  readonly #waiters: Array<(m: string | Buffer) => void> = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;

  constructor(url: string, options?: ConstructorParameters<typeof WebSocket>[2]) {
    this.ws = new WebSocket(url, options);
    this.ws.on("error", () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
      this.ws.once("close", () => reject(new Error("closed before open")));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.ws.once("close", (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
    this.ws.on("message", (data: Buffer, isBinary: boolean) => {
      const message = isBinary ? data : data.toString();
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#inbox.push(message);
    });
    onCleanup(() => {
      this.ws.terminate();
    });
  }

  /** The next message, waiting up to `timeoutMs`. */
  next(timeoutMs = 3000): Promise<string | Buffer> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (m: string | Buffer): void => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(new Error(`no WebSocket message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }
}

export function wsUrl(handle: EngineHandle, query: Record<string, string | undefined> = {}): string {
  return `ws://127.0.0.1:${handle.port}${eioPath(handle, { transport: "websocket", ...query })}`;
}

/** Opens a raw WebSocket on the engine path. */
export async function rawWebSocket(handle: EngineHandle, query: Record<string, string | undefined> = {}): Promise<RawWs> {
  const client = new RawWs(wsUrl(handle, query));
  await client.opened;
  return client;
}

/** Sends a raw HTTP upgrade request and returns everything the server wrote until it closed the connection. */
export function rawUpgrade(handle: EngineHandle, path: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: handle.port,
      path,
      agent: false,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    const timer = setTimeout(() => reject(new Error("upgrade request got no answer")), timeoutMs);
    onCleanup(() => {
      clearTimeout(timer);
      req.destroy();
    });
    const net = req.once("socket", (socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("latin1"));
      });
    });
    void net;
    req.on("error", () => {});
    req.on("upgrade", () => {});
    req.on("response", () => {});
    req.end();
  });
}
