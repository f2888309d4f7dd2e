import { invalidOption } from "../core/errors.js";
import { resolveForwardingOptions, type ForwardingOptions } from "../forward/index.js";

/** tidewire's connection-state-recovery settings of the streams adapter. */
export interface RedisStreamsRecoveryOptions {
  /**
   * How often the session of every connected socket (rooms, socket.data, the
   * stream position it started at) is written to Redis, in ms, so that a
   * node that dies loses no session. Room changes are written at once; a
   * change of socket.data reaches Redis within this interval.
   * @default 5000
   */
  snapshotInterval?: number;
  /** Stream entries read per XRANGE call while replaying a session's missed packets. @default 1000 */
  pageSize?: number;
  /**
   * How long a session key outlives its deadline, in ms, so that the node
   * that notices the expiry can still report the session in "session-expired".
   * @default 10000
   */
  expiryGrace?: number;
  /** How often expired sessions are looked for, in ms. @default 1000 */
  sweepInterval?: number;
}

/** Bounds on what the adapter keeps while Redis or other nodes are slow. */
export interface RedisStreamsLimits {
  /** Bytes of writes (XADD, PUBLISH) waiting for Redis; past it a message is dropped and logged. @default 33554432 (32 MiB) */
  pendingBytes?: number;
  /** Requests to other nodes waiting for answers at once. @default 1000 */
  pendingRequests?: number;
}

/** Options of `createAdapter`, as @socket.io/redis-streams-adapter 0.3 defines them, plus tidewire's groups. */
export interface RedisStreamsAdapterOptions {
  /** Name of the stream (with streamCount > 1, the prefix of `<name>-<i>`). @default "socket.io" */
  streamName?: string;
  /** Number of streams; each namespace is routed to one of them. @default 1 */
  streamCount?: number;
  /** Prefix of the pub/sub channels carrying requests and responses. @default "socket.io" */
  channelPrefix?: string;
  /** Use sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7) for requests and responses. @default false */
  useShardedPubSub?: boolean;
  /** Approximate maximum length of the stream (`XADD ... MAXLEN ~`). @default 10000 */
  maxLen?: number;
  /** Entries read per XREAD call. @default 100 */
  readCount?: number;
  /** How long an XREAD blocks waiting for entries, in ms. @default 5000 */
  blockTimeInMs?: number;
  /** Prefix of the session keys (`<prefix><pid>`). @default "sio:session:" */
  sessionKeyPrefix?: string;
  /** Encode binary payloads as JSON rather than base64 MessagePack. @default false */
  onlyPlaintext?: boolean;
  /** How long fetchSockets and serverSideEmit with an ack wait for other nodes, in ms. @default 5000 */
  requestsTimeout?: number;
  /** Connection state recovery across nodes. @default see RedisStreamsRecoveryOptions */
  recovery?: RedisStreamsRecoveryOptions;
  /** Bounds on pending work. @default see RedisStreamsLimits */
  limits?: RedisStreamsLimits;
  /**
   * Session forwarding (tidewire only, see docs/scaling.md): a polling
   * request or WebSocket upgrade that reaches a node that does not hold its
   * session is relayed to the node that does, over Redis pub/sub
   * (`<channelPrefix>-forward#<node>#`), so the load balancer needs no
   * sticky sessions. `false` turns it off.
   * @default true
   */
  forwarding?: boolean | ForwardingOptions;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

function positive(name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    throw invalidOption(name, `a positive ${integer ? "integer" : "number"} of at most ${max}`, value);
  }
  return value;
}

function text(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") throw invalidOption(name, "a non-empty string", value);
  return value;
}

function group<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) throw invalidOption(name, "an object", value);
  return value;
}

export function resolveStreamsOptions(opts: RedisStreamsAdapterOptions = {}) {
  if (typeof opts !== "object" || opts === null) throw invalidOption("options", "an object", opts);
  const recovery = group("recovery", opts.recovery);
  const limits = group("limits", opts.limits);
  return {
    streamName: text("streamName", opts.streamName, "socket.io"),
    streamCount: positive("streamCount", opts.streamCount, 1, 1024, true),
    channelPrefix: text("channelPrefix", opts.channelPrefix, "socket.io"),
    useShardedPubSub: opts.useShardedPubSub === true,
    maxLen: positive("maxLen", opts.maxLen, 10000, Number.MAX_SAFE_INTEGER, true),
    readCount: positive("readCount", opts.readCount, 100, 1_000_000, true),
    blockTimeInMs: positive("blockTimeInMs", opts.blockTimeInMs, 5000, MAX_TIMEOUT, true),
    sessionKeyPrefix: text("sessionKeyPrefix", opts.sessionKeyPrefix, "sio:session:"),
    onlyPlaintext: opts.onlyPlaintext === true,
    requestsTimeout: positive("requestsTimeout", opts.requestsTimeout, 5000, MAX_TIMEOUT),
    recovery: {
      snapshotInterval: positive("recovery.snapshotInterval", recovery.snapshotInterval, 5000, MAX_TIMEOUT),
      pageSize: positive("recovery.pageSize", recovery.pageSize, 1000, 100_000, true),
      expiryGrace: positive("recovery.expiryGrace", recovery.expiryGrace, 10000, MAX_TIMEOUT),
      sweepInterval: positive("recovery.sweepInterval", recovery.sweepInterval, 1000, MAX_TIMEOUT),
    },
    limits: {
      pendingBytes: positive("limits.pendingBytes", limits.pendingBytes, 32 * 1024 * 1024),
      pendingRequests: positive("limits.pendingRequests", limits.pendingRequests, 1000, Number.MAX_SAFE_INTEGER, true),
    },
    forwarding: resolveForwardingOptions(opts.forwarding),
  };
}

export type ResolvedStreamsOptions = ReturnType<typeof resolveStreamsOptions>;

/** socket.io's Java-style string hash, as the reference routes namespaces to streams. */
export function hashCode(str: string): number {
  let hash = 0;
  for (let i = 0; i < str.length; i++) {
    hash = hash * 31 + str.charCodeAt(i);
    hash |= 0;
  }
  return hash;
}

/** The stream of a namespace: `<streamName>`, or `<streamName>-<hash % streamCount>` (the reference's formula, sign included). */
export function streamOf(nsp: string, o: { streamName: string; streamCount: number }): string {
  return o.streamCount === 1 ? o.streamName : `${o.streamName}-${hashCode(nsp) % o.streamCount}`;
}
