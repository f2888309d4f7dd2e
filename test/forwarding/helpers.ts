/**
 * Session forwarding tests: tidewire servers in this process on a real Redis
 * (each its own node, as separate machines would be), raw Engine.IO requests
 * sent to the node of our choice, and the Redis availability check (a
 * missing Redis skips locally and fails with CI=true).
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Server } from "../../src/index.js";
import { createAdapter, type RedisAdapterOptions } from "../../src/redis/index.js";
import { listen, onClose, parseOpenPacket, rawRequest, withTimeout, type RawResponse } from "../helpers/io.js";

const require = createRequire(import.meta.url);

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const IN_CI = process.env.CI === "true";

/** Whether Redis answers at REDIS_URL (checked once per file). */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export function uniqueKey(): string {
  return `tw-fwd-${randomBytes(6).toString("hex")}`;
}

export interface Node {
  io: any;
  httpServer: http.Server;
  url: string;
  tag: string;
  close(): Promise<void>;
}

/** A connected node-redis v5 pair, closed at teardown. */
export async function redisPair(): Promise<[any, any]> {
  const { createClient } = require("redis");
  const pub = createClient({ url: REDIS_URL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  onClose(async () => {
    for (const c of [pub, sub]) if (c.isOpen) await c.quit().catch(() => c.destroy?.());
  });
  return [pub, sub];
}

/**
 * A tidewire server on 127.0.0.1:0 with tidewire/redis on key `key` (or
 * tidewire/redis-streams with `streams`: `key` names its stream and channels).
 */
export async function startNode(
  key: string,
  opts: { adapter?: RedisAdapterOptions; server?: Record<string, unknown>; http2?: { key: Buffer; cert: Buffer }; streams?: boolean } = {},
): Promise<Node> {
  let adapter: unknown;
  if (opts.streams) {
    const { createClient } = require("redis");
    const client = createClient({ url: REDIS_URL });
    client.on("error", () => {});
    await client.connect();
    onClose(() => client.quit().catch(() => client.destroy?.()));
    const { createAdapter: createStreamsAdapter } = await import("../../src/redis-streams/index.js");
    adapter = createStreamsAdapter(client, { streamName: key, channelPrefix: key, ...(opts.adapter as object) });
  } else {
    const [pub, sub] = await redisPair();
    adapter = createAdapter(pub, sub, { key, ...opts.adapter });
  }
  const httpServer = (opts.http2 ? http2.createSecureServer({ ...opts.http2, allowHTTP1: true }) : http.createServer()) as http.Server;
  const io = new Server(httpServer, { adapter, ...opts.server });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await withTimeout(new Promise<void>((r) => io.close(() => r())), 3000, "io.close").catch(() => {});
    httpServer.closeAllConnections?.();
  };
  onClose(close);
  const port = await listen(httpServer);
  await io.of("/").adapter.init();
  const router = io.of("/").adapter[Symbol.for("tidewire.sessionRouter")];
  return { io, httpServer, url: `${opts.http2 ? "https" : "http"}://127.0.0.1:${port}`, tag: router?.tag ?? "", close };
}

const BASE = "/socket.io/?EIO=4&transport=polling";

/** Opens an Engine.IO polling session on `node` and connects the main namespace; returns its sid. */
export async function openSession(node: Node, headers: Record<string, string> = {}): Promise<string> {
  const open = await rawRequest(node.url + BASE, { headers });
  const { sid } = parseOpenPacket(open.body);
  return sid;
}

/** A polling request for session `sid` sent to `node`. */
export function poll(node: Node, sid: string, init: { method?: "GET" | "POST"; body?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return rawRequest(`${node.url}${BASE}&sid=${encodeURIComponent(sid)}`, {
    method: init.method ?? "GET",
    body: init.body,
    headers: { ...(init.body !== undefined ? { "content-type": "text/plain;charset=UTF-8" } : {}), ...init.headers },
  });
}

/** Engine.IO's answer to a request for an unknown session. */
export const UNKNOWN_SID = JSON.stringify({ code: 1, message: "Session ID unknown" });
