/**
 * Shared pieces of the framework tests: a teardown stack, a plain HTTP
 * client that keeps no connections alive, and the socket.io-client exchange
 * every framework must carry beside its own routes.
 */
import http from "node:http";
import https from "node:https";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { io as connect, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from "socket.io-client";
// Types only: importing helpers/impl.js for values would load src/ even in
// tests (examples, e2e) that run tidewire from dist/ in a child process.
import type { Server, ServerOptions } from "../helpers/impl.js";

/** Same switch as helpers/impl.ts: the reference socket.io instead of tidewire. */
export const againstReference = process.env.TEST_AGAINST === "socket.io";

/**
 * The CommonJS entry as users `require` it: a function `(srv, opts) => Server`.
 * For tidewire this is the built package (`require("tidewire")` resolves to
 * dist/cjs.cjs through the package's self-reference), so `npm run build` must
 * have run; `npm test` does that first.
 */
export function requireCallable(): (srv?: unknown, opts?: Partial<ServerOptions>) => Server {
  const require = createRequire(import.meta.url);
  if (againstReference) return require("socket.io");
  if (!existsSync(new URL("../../dist/cjs.cjs", import.meta.url))) {
    throw new Error('dist/cjs.cjs is missing: run "npm run build" before testing require("tidewire")');
  }
  return require("tidewire");
}

const fixtures = new URL("./fixtures/", import.meta.url);
/** Self-signed certificate for 127.0.0.1 / localhost, valid until 2126. */
export const tls = {
  key: readFileSync(new URL("localhost-key.pem", fixtures)),
  cert: readFileSync(new URL("localhost-cert.pem", fixtures)),
};

/** Runs registered cleanups in reverse order; every step runs even if one fails. */
export class Teardown {
  #steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "teardown failed");
  }
}

/** Closes an http.Server, tolerating one that already stopped. */
export function closeHttpServer(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** Starts listening on 127.0.0.1 with an OS-chosen port and returns that port. */
export function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP(S) request on a fresh connection (no keep-alive), so servers can
 * close without waiting for idle sockets.
 */
export function request(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const target = new URL(url);
  const lib = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: init.method ?? "GET",
        headers: init.headers,
        agent: false,
        ca: target.protocol === "https:" ? tls.cert : undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** The three ways an official client reaches the server. */
export const TRANSPORT_MODES = [
  { mode: "polling", options: { transports: ["polling"] }, finalTransport: "polling" },
  { mode: "websocket", options: { transports: ["websocket"] }, finalTransport: "websocket" },
  { mode: "upgrade", options: { transports: ["polling", "websocket"] }, finalTransport: "websocket" },
] as const;

export type TransportMode = (typeof TRANSPORT_MODES)[number];

/** The minimal server surface the exchange needs; satisfied by tidewire and socket.io. */
interface ServerLike {
  on(event: "connection", listener: (socket: SocketLike) => void): unknown;
}
interface SocketLike {
  id: string;
  emit(event: string, ...args: unknown[]): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * Server half of the exchange: greet each socket, echo events through acks
 * (text and binary).
 */
export function installEcho(io: ServerLike, source: string): void {
  io.on("connection", (socket) => {
    socket.emit("welcome", { source, id: socket.id });
    socket.on("echo", (payload: unknown, ack: unknown) => {
      if (typeof ack === "function") ack(payload);
    });
  });
}

/** Rejects when `promise` has not settled after `ms`, naming what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function once<T>(socket: ClientSocket, event: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (value: T) => {
      clearTimeout(timer);
      resolve(value);
    };
    socket.once(event, onEvent);
  });
}

/**
 * Connects an official client and waits for `connect` (or fails with the
 * connect error). `prepare` runs before any packet can arrive, so listeners
 * it adds see what the server emits on connection.
 */
export async function connectClient(
  url: string,
  options: Partial<ManagerOptions & SocketOptions> & Record<string, unknown>,
  teardown: Teardown,
  prepare?: (socket: ClientSocket) => void,
): Promise<ClientSocket> {
  const socket = connect(url, { forceNew: true, reconnection: false, timeout: 5000, ...options });
  teardown.add(() => socket.disconnect());
  prepare?.(socket);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (err) => reject(err));
    }),
    6000,
    `connection to ${url}`,
  );
  return socket;
}

/**
 * Client half of the exchange, asserting every step: connect on the given
 * transport mode, receive the greeting, round-trip a text and a binary
 * payload through acks, and end on the expected transport.
 */
export async function exerciseClient(
  url: string,
  mode: TransportMode,
  expectedSource: string,
  teardown: Teardown,
  extra: Partial<ManagerOptions & SocketOptions> & Record<string, unknown> = {},
): Promise<void> {
  const socket = connect(url, {
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    transports: [...mode.options.transports],
    ...extra,
  });
  teardown.add(() => socket.disconnect());

  // The manager opens its engine synchronously in the constructor, so these
  // listeners are in place before any byte is exchanged.
  const welcome = once<{ source: string; id: string }>(socket, "welcome", 5000);
  const upgraded =
    mode.mode === "upgrade"
      ? withTimeout(
          new Promise<string>((resolve) => socket.io.engine.once("upgrade", (t: { name: string }) => resolve(t.name))),
          5000,
          "transport upgrade",
        )
      : undefined;
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err) => reject(err));
  });

  await expect(welcome).resolves.toEqual({ source: expectedSource, id: socket.id });

  const text = { text: "héllo ✓", n: 42, list: [1, "two", null] };
  await expect(socket.timeout(5000).emitWithAck("echo", text)).resolves.toEqual(text);

  const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
  const echoed = (await socket.timeout(5000).emitWithAck("echo", { bytes })) as { bytes: Buffer };
  expect(Buffer.from(echoed.bytes)).toEqual(bytes);

  if (upgraded) {
    await expect(upgraded).resolves.toBe("websocket");
  }
  expect(socket.io.engine.transport.name).toBe(mode.finalTransport);
}
