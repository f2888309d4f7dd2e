import { invalidOption } from "../core/errors.js";
import { resolveForwardingOptions, type ForwardingOptions } from "../forward/index.js";
import { msgpackParser } from "./msgpack/index.js";
import type { Parser } from "./protocol.js";

/** tidewire's bounds on what a Redis adapter keeps while Redis or other nodes are slow. */
export interface RedisAdapterLimits {
  /**
   * Bytes of publishes waiting for Redis (for example while it restarts, the
   * client queues them). Past the bound a message is dropped and logged
   * (a request fails at once with a clear error).
   * @default 33554432 (32 MiB)
   */
  pendingPublishBytes?: number;
  /**
   * Requests to other nodes (fetchSockets, allRooms, serverSideEmit with an
   * ack…) waiting for answers at once; past the bound a request fails at once.
   * @default 1000
   */
  pendingRequests?: number;
}

/** Options of `createAdapter`, as @socket.io/redis-adapter 8 defines them. */
export interface RedisAdapterOptions {
  /** Prefix of every channel name. @default "socket.io" */
  key?: string;
  /**
   * How long a request to the other nodes (fetchSockets, allRooms,
   * serverSideEmit with an ack, allSockets) waits for their answers, in ms.
   * @default 5000
   */
  requestsTimeout?: number;
  /**
   * Answer other nodes' requests on a channel only the requesting node
   * listens to (`<key>-response#<nsp>#<uid>#`) instead of the shared one.
   * @default false
   */
  publishOnSpecificResponseChannel?: boolean;
  /**
   * Codec of broadcasts and of requests carrying binary: any `{ encode, decode }`.
   * Every node of a cluster must use the same.
   * @default tidewire's MessagePack codec (the format of notepack.io, the reference's default)
   */
  parser?: Parser;
  /** Bounds on pending work. @default see RedisAdapterLimits */
  limits?: RedisAdapterLimits;
  /**
   * Session forwarding (tidewire only, see docs/scaling.md): a polling
   * request or WebSocket upgrade that reaches a node that does not hold its
   * session is relayed to the node that does, over Redis, so the load
   * balancer needs no sticky sessions. `false` turns it off.
   * @default true
   */
  forwarding?: boolean | ForwardingOptions;
}

/** Options of `createShardedAdapter`, as @socket.io/redis-adapter 8 defines them. */
export interface ShardedRedisAdapterOptions {
  /** Prefix of every channel name. @default "socket.io" */
  channelPrefix?: string;
  /**
   * Which rooms get their own shard channel: "static" none (one channel per
   * namespace), "dynamic" rooms that are not socket ids, "dynamic-private"
   * every room. A room channel spreads load over the shards and spares nodes
   * without members of the room from receiving its broadcasts.
   * @default "dynamic"
   */
  subscriptionMode?: "static" | "dynamic" | "dynamic-private";
  /** How long fetchSockets and serverSideEmit with an ack wait for other nodes, in ms. @default 5000 */
  requestsTimeout?: number;
  /** Bounds on pending work. @default see RedisAdapterLimits */
  limits?: RedisAdapterLimits;
  /**
   * Session forwarding (tidewire only, see docs/scaling.md): a polling
   * request or WebSocket upgrade that reaches a node that does not hold its
   * session is relayed to the node that does, over Redis, so the load
   * balancer needs no sticky sessions. `false` turns it off.
   * @default true
   */
  forwarding?: boolean | ForwardingOptions;
}

export interface ResolvedLimits {
  pendingPublishBytes: number;
  pendingRequests: number;
}

const DEFAULT_LIMITS: ResolvedLimits = { pendingPublishBytes: 32 * 1024 * 1024, pendingRequests: 1000 };
const MAX_TIMEOUT = 2 ** 31 - 1;

function positive(name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw invalidOption(name, `a positive number of at most ${max}`, value);
  }
  return value;
}

function resolveLimits(limits: RedisAdapterLimits | undefined): ResolvedLimits {
  if (limits === undefined) return DEFAULT_LIMITS;
  if (typeof limits !== "object" || limits === null) throw invalidOption("limits", "an object", limits);
  return {
    pendingPublishBytes: positive("limits.pendingPublishBytes", limits.pendingPublishBytes, DEFAULT_LIMITS.pendingPublishBytes),
    pendingRequests: positive("limits.pendingRequests", limits.pendingRequests, DEFAULT_LIMITS.pendingRequests),
  };
}

function prefix(name: string, value: unknown): string {
  if (value === undefined) return "socket.io";
  if (typeof value !== "string" || value === "") throw invalidOption(name, "a non-empty string", value);
  return value;
}

export function resolveRedisOptions(opts: RedisAdapterOptions = {}) {
  if (typeof opts !== "object" || opts === null) throw invalidOption("options", "an object", opts);
  const parser = opts.parser ?? msgpackParser;
  if (typeof parser?.encode !== "function" || typeof parser?.decode !== "function") {
    throw invalidOption("parser", "an object with encode() and decode() functions", parser);
  }
  return {
    key: prefix("key", opts.key),
    requestsTimeout: positive("requestsTimeout", opts.requestsTimeout, 5000, MAX_TIMEOUT),
    publishOnSpecificResponseChannel: opts.publishOnSpecificResponseChannel === true,
    parser,
    limits: resolveLimits(opts.limits),
    forwarding: resolveForwardingOptions(opts.forwarding),
  };
}

export type ResolvedRedisOptions = ReturnType<typeof resolveRedisOptions>;

const MODES = new Set(["static", "dynamic", "dynamic-private"]);

export function resolveShardedOptions(opts: ShardedRedisAdapterOptions = {}) {
  if (typeof opts !== "object" || opts === null) throw invalidOption("options", "an object", opts);
  const mode = opts.subscriptionMode ?? "dynamic";
  if (!MODES.has(mode)) throw invalidOption("subscriptionMode", '"static", "dynamic" or "dynamic-private"', mode);
  return {
    channelPrefix: prefix("channelPrefix", opts.channelPrefix),
    subscriptionMode: mode,
    requestsTimeout: positive("requestsTimeout", opts.requestsTimeout, 5000, MAX_TIMEOUT),
    limits: resolveLimits(opts.limits),
    forwarding: resolveForwardingOptions(opts.forwarding),
  };
}

export type ResolvedShardedOptions = ReturnType<typeof resolveShardedOptions>;
