/**
 * Wiring an engine into a Node http/https/http2 server (features.md A2, A3.3):
 * requests under the path go to the engine, every other request goes to the
 * application's own request listeners, in their order, so Express/Koa/Hapi
 * routes keep working; foreign upgrade requests are ended after a delay
 * unless another listener answered them.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { Duplex } from "node:stream";
import { ErrorCodes } from "../core/errors.js";
import { timers } from "../core/timers.js";
import { computePath, type AttachOptions } from "./options.js";
import type { Server } from "./server.js";

export type HttpLikeServer = http.Server | https.Server | Http2Server | Http2SecureServer;

function isHttp2Server(value: object): boolean {
  for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (name === "Http2Server" || name === "Http2SecureServer") return true;
  }
  return false;
}

/** Throws a TypeError naming what is expected unless `server` is a Node http/https/http2 server. */
export function assertHttpServer(server: unknown): asserts server is HttpLikeServer {
  if (server instanceof http.Server || server instanceof https.Server) return;
  if (server !== null && typeof server === "object" && isHttp2Server(server)) return;
  let got: string;
  if (typeof server === "function") got = "a function (an Express/Connect app?)";
  else if (server === null || typeof server !== "object") got = String(server === null ? "null" : typeof server);
  else got = `an instance of ${Object.getPrototypeOf(server)?.constructor?.name ?? "an unknown class"}`;
  const err = new TypeError(
    `tidewire: attach() expects an http.Server, https.Server or http2 server, got ${got}. ` +
      "Pass the server that handles the HTTP requests, e.g. http.createServer(app) " +
      "or the value returned by app.listen().",
  );
  (err as TypeError & { code: string }).code = ErrorCodes.NOT_AN_HTTP_SERVER;
  throw err;
}

function ignoreError(): void {}

/**
 * Restores `event`'s listeners as they would be without `ours`: `ours` is
 * replaced, in place, by the listeners it had taken over.
 */
export function restoreListeners(
  emitter: { rawListeners(e: string): Function[]; removeAllListeners(e: string): unknown; on(e: string, fn: (...a: any[]) => void): unknown },
  event: string,
  ours: Function,
  previous: Function[],
): void {
  const current = emitter.rawListeners(event);
  emitter.removeAllListeners(event);
  for (const listener of current) {
    if (listener === ours) for (const p of previous) emitter.on(event, p as (...a: any[]) => void);
    else emitter.on(event, listener as (...a: any[]) => void);
  }
}

/** Attaches `engine` to `server`; returns the function that takes it off again. */
export function attachToHttpServer(engine: Server, server: HttpLikeServer, options: AttachOptions): () => void {
  assertHttpServer(server);
  const path = computePath(options);
  const destroyUpgrade = options.destroyUpgrade !== false;
  const destroyUpgradeTimeout = options.destroyUpgradeTimeout || 1000;
  // A prefix test on the raw URL, as engine.io: "/engine.io/?EIO=4" matches, "/engine.io?EIO=4" does not.
  const matches = (url: string | undefined): boolean => url !== undefined && url.startsWith(path);

  const emitter = server as http.Server;
  const previous = emitter.listeners("request").slice(0) as Array<(...args: unknown[]) => void>;
  const previousRaw = emitter.rawListeners("request").slice(0);
  emitter.removeAllListeners("request");
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (matches(req.url)) {
      engine.handleRequest(req, res);
      return;
    }
    for (let i = 0; i < previous.length; i++) previous[i].call(server, req, res);
  };
  emitter.on("request", onRequest);
  const onClose = (): void => {
    engine.close();
  };
  emitter.on("close", onClose);
  const detach = (): void => {
    restoreListeners(emitter, "request", onRequest, previousRaw);
    emitter.removeListener("close", onClose);
    if (onUpgrade !== null) emitter.removeListener("upgrade", onUpgrade);
  };

  let onUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | null = null;
  if (!engine.opts.transports.includes("websocket")) return detach;
  onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (matches(req.url)) {
      engine.handleUpgrade(req, socket, head);
      return;
    }
    if (!destroyUpgrade) return;
    // Adding an upgrade listener stops Node from dropping these itself: do it
    // unless another listener has written to the socket in the meantime.
    socket.on("error", ignoreError);
    // The shared timers take any delay (a Node timer would turn one above 2^31-1 ms into 1 ms).
    timers.arm(
      {
        onTimeout: () => {
          const s = socket as Duplex & { bytesWritten?: number };
          if (s.writable && (s.bytesWritten ?? 0) <= 0) s.end();
        },
      },
      destroyUpgradeTimeout,
    );
  };
  emitter.on("upgrade", onUpgrade);
  return detach;
}
