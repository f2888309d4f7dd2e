/**
 * One interface over the Redis clients tidewire/redis accepts: node-redis v4,
 * v5 and v6 (`redis` package, standalone or cluster) and ioredis (standalone or
 * Cluster). The adapters only publish, subscribe (classic, pattern, sharded)
 * and count subscribers; everything client-specific lives here.
 */
import { ErrorCodes, TidewireError } from "../core/errors.js";
import { logger } from "../core/debug.js";

const log = logger("redis", "client");

/** A Redis client object from the `redis` or `ioredis` package. */
export type RedisClient = any;

/** Receives one message: its raw bytes and the channel it came on. */
export type MessageHandler = (message: Buffer, channel: string) => void;

export type SubscriptionKind = "channel" | "pattern" | "shard";

type Listener = (message: Buffer, channel: Buffer | string) => void;

type Kind = "node-redis" | "ioredis";

function detectKind(client: RedisClient, role: string): Kind {
  if (client && typeof client === "object") {
    if (typeof client.pSubscribe === "function" || typeof client.sSubscribe === "function") return "node-redis";
    if (typeof client.psubscribe === "function" || typeof client.ssubscribe === "function") return "ioredis";
  }
  throw new TidewireError(
    ErrorCodes.INVALID_OPTION,
    `tidewire/redis: the ${role} is not a Redis client. Pass a client from the "redis" package (v4, v5 or v6, ` +
      `created with createClient() and connected) or from the "ioredis" package.`,
  );
}

/**
 * ioredis reports every message of a client through one event per kind; this
 * routes them by channel (or pattern) to the handlers registered for it, and
 * subscribes at Redis only for the first handler of a name.
 */
class IoredisRouter {
  readonly handlers: Record<SubscriptionKind, Map<string, Set<MessageHandler>>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };

  constructor(client: RedisClient) {
    const dispatch = (map: Map<string, Set<MessageHandler>>, key: string, message: Buffer, channel: string) => {
      const set = map.get(key);
      if (set) for (const handler of set) handler(message, channel);
    };
    client.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      const name = channel.toString();
      dispatch(this.handlers.channel, name, message, name);
    });
    client.on("pmessageBuffer", (pattern: Buffer | string, channel: Buffer, message: Buffer) => {
      dispatch(this.handlers.pattern, pattern.toString(), message, channel.toString());
    });
    client.on("smessageBuffer", (channel: Buffer, message: Buffer) => {
      const name = channel.toString();
      dispatch(this.handlers.shard, name, message, name);
    });
  }
}

const routers = new WeakMap<object, IoredisRouter>();

const SUBSCRIBE = {
  "node-redis": { channel: "subscribe", pattern: "pSubscribe", shard: "sSubscribe" },
  ioredis: { channel: "subscribe", pattern: "psubscribe", shard: "ssubscribe" },
} as const;
const UNSUBSCRIBE = {
  "node-redis": { channel: "unsubscribe", pattern: "pUnsubscribe", shard: "sUnsubscribe" },
  ioredis: { channel: "unsubscribe", pattern: "punsubscribe", shard: "sunsubscribe" },
} as const;

/** Bytes counted per queued publish on top of its payload (promise and command bookkeeping). */
const PUBLISH_OVERHEAD = 256;

export interface PubSubOptions {
  /** Most bytes of publishes waiting for Redis; more are dropped with an error. */
  maxPendingPublishBytes: number;
}

/**
 * A publishing client and a subscribing client. Tracks the subscriptions it
 * made so that it can re-establish them when the subscriber reconnects
 * (clients restore theirs too; subscribing again is idempotent).
 */
export class PubSub {
  readonly pub: RedisClient;
  readonly sub: RedisClient;
  readonly #pubKind: Kind;
  readonly #subKind: Kind;
  readonly #maxPendingBytes: number;
  #pendingBytes = 0;
  /** What we subscribed to; for node-redis each handler maps to the listener given to the client. */
  readonly #subscriptions = new Map<string, { kind: SubscriptionKind; name: string; handlers: Map<MessageHandler, Listener> }>();
  readonly #listeners: Array<[RedisClient, string, (...args: any[]) => void]> = [];
  /** Set when the subscriber lost its connection, or a subscription failed (e.g. client not connected yet). */
  #subscriberWasDown = false;
  #warnedNoErrorHandler = false;

  constructor(pub: RedisClient, sub: RedisClient, opts: PubSubOptions) {
    this.pub = pub;
    this.sub = sub;
    this.#pubKind = detectKind(pub, "pubClient");
    this.#subKind = detectKind(sub, "subClient");
    this.#maxPendingBytes = opts.maxPendingPublishBytes;
    if (this.#subKind === "ioredis" && !routers.has(sub)) routers.set(sub, new IoredisRouter(sub));
    for (const [client, role] of [
      [pub, "publisher"],
      [sub, "subscriber"],
    ] as const) {
      if (typeof client.on !== "function") continue;
      this.#listen(client, "error", (err: Error) => this.#onError(client, role, err));
      this.#listen(client, "reconnecting", () => {
        if (client === sub) this.#subscriberWasDown = true;
        log("%s lost its connection to Redis; the client is reconnecting", role);
      });
      this.#listen(client, "ready", () => {
        if (client !== sub) return log("publisher connected to Redis");
        if (!this.#subscriberWasDown) return;
        this.#subscriberWasDown = false;
        this.#resubscribe();
      });
    }
  }

  #listen(client: RedisClient, event: string, fn: (...args: any[]) => void): void {
    client.on(event, fn);
    this.#listeners.push([client, event, fn]);
  }

  #onError(client: RedisClient, role: string, err: Error): void {
    log("%s error: %s", role, err?.message ?? err);
    // Our listener keeps the error from crashing the process; tell the
    // application once that it is not listening itself.
    if (!this.#warnedNoErrorHandler && client.listenerCount?.("error") === 1) {
      this.#warnedNoErrorHandler = true;
      console.warn(
        `tidewire/redis: Redis ${role} error (${err?.message ?? err}) and no 'error' listener on that client; ` +
          `add client.on("error", ...) to handle Redis errors.`,
      );
    }
  }

  /** The subscriber is back after an outage: make sure every subscription is live again. */
  #resubscribe(): void {
    const subs = [...this.#subscriptions.values()];
    log("subscriber (re)connected to Redis: re-establishing %d subscription(s)", subs.length);
    Promise.all(subs.map((s) => this.#subscribeAtRedis(s.kind, s.name, [...s.handlers]))).then(
      () => log("subscriptions restored after reconnection"),
      (err) => log("re-subscribing after reconnection failed: %s", err?.message ?? err),
    );
  }

  /** Listens to a channel, a pattern or a shard channel. Resolves once Redis confirmed. */
  subscribe(kind: SubscriptionKind, name: string, handler: MessageHandler): Promise<void> {
    const key = kind + ":" + name;
    let entry = this.#subscriptions.get(key);
    if (!entry) {
      entry = { kind, name, handlers: new Map() };
      this.#subscriptions.set(key, entry);
    }
    let listener = entry.handlers.get(handler);
    if (!listener) {
      listener = (message: Buffer, channel: Buffer | string) => handler(message, channel.toString());
      entry.handlers.set(handler, listener);
    }
    return this.#subscribeAtRedis(kind, name, [[handler, listener]]).catch((err) => {
      // Retried once the subscriber is (again) ready.
      this.#subscriberWasDown = true;
      throw err;
    });
  }

  #subscribeAtRedis(kind: SubscriptionKind, name: string, handlers: Array<[MessageHandler, Listener]>): Promise<void> {
    return attempt(async () => {
      const method = SUBSCRIBE[this.#subKind][kind];
      if (this.#subKind === "node-redis") {
        // Buffer mode (third argument) keeps binary payloads as raw bytes.
        // The client keeps listeners in a set: subscribing again is a no-op.
        for (const [, listener] of handlers) await this.sub[method](name, listener, true);
        return;
      }
      const router = routers.get(this.sub) as IoredisRouter;
      let set = router.handlers[kind].get(name);
      if (!set) {
        set = new Set();
        router.handlers[kind].set(name, set);
      }
      for (const [handler] of handlers) set.add(handler);
      await this.sub[method](name);
    });
  }

  /** Stops listening. */
  unsubscribe(kind: SubscriptionKind, name: string, handler: MessageHandler): Promise<void> {
    const key = kind + ":" + name;
    const entry = this.#subscriptions.get(key);
    const listener = entry?.handlers.get(handler);
    if (entry) {
      entry.handlers.delete(handler);
      if (entry.handlers.size === 0) this.#subscriptions.delete(key);
    }
    return attempt(async () => {
      const method = UNSUBSCRIBE[this.#subKind][kind];
      if (this.#subKind === "node-redis") {
        // Only our listener: node-redis unsubscribes at Redis when the
        // name has no listener left (other code may share the client).
        if (listener) await this.sub[method](name, listener, true);
        return;
      }
      const router = routers.get(this.sub) as IoredisRouter;
      const set = router.handlers[kind].get(name);
      set?.delete(handler);
      if (!set || set.size === 0) {
        router.handlers[kind].delete(name);
        await this.sub[method](name);
      }
    });
  }

  /**
   * Publishes on a classic (`shard` false) or sharded channel. Rejects
   * without sending when too many bytes already wait for Redis.
   */
  publish(channel: string, payload: Buffer | string, shard = false): Promise<unknown> {
    const size = (typeof payload === "string" ? payload.length * 3 : payload.length) + PUBLISH_OVERHEAD;
    if (this.#pendingBytes + size > this.#maxPendingBytes) {
      return Promise.reject(
        new TidewireError(
          ErrorCodes.LIMIT,
          `tidewire/redis: message to ${channel} dropped: ${this.#pendingBytes} bytes of publishes already wait ` +
            `for Redis (limits.pendingPublishBytes). Redis is unreachable or slower than the message rate.`,
        ),
      );
    }
    this.#pendingBytes += size;
    const method = shard ? (this.#pubKind === "node-redis" ? "sPublish" : "spublish") : "publish";
    return attempt(() => this.pub[method](channel, payload)).finally(() => {
      this.#pendingBytes -= size;
    });
  }

  /** Whether the publishing client talks to a Redis Cluster (PUBLISH then counts one node's subscribers only). */
  get isCluster(): boolean {
    const client = this.pub;
    return typeof client.nodes === "function" || Array.isArray(client.masters);
  }

  /** Subscribers of a channel (`NUMSUB`) or shard channel (`SHARDNUMSUB`), summed over cluster nodes. */
  countSubscribers(command: "NUMSUB" | "SHARDNUMSUB", channel: string): Promise<number> {
    return attempt(async () => {
      const client = this.pub;
      const args = ["PUBSUB", command, channel];
      if (this.#pubKind === "ioredis") {
        if (typeof client.nodes === "function") {
          const counts = await Promise.all(client.nodes("all").map((node: RedisClient) => node.call(...args)));
          return counts.reduce((sum: number, reply: unknown) => sum + parseCount(reply), 0);
        }
        return parseCount(await client.call(...args));
      }
      if (Array.isArray(client.masters) && typeof client.nodeClient === "function") {
        const nodes = [...client.masters, ...(client.replicas ?? [])];
        const counts = await Promise.all(
          nodes.map(async (node: RedisClient) => parseCount(await (await client.nodeClient(node)).sendCommand(args))),
        );
        return counts.reduce((a, b) => a + b, 0);
      }
      return parseCount(await client.sendCommand(args));
    });
  }

  /** Removes the listeners this object added to the clients. Subscriptions are left to the callers. */
  detach(): void {
    for (const [client, event, fn] of this.#listeners) client.off?.(event, fn) ?? client.removeListener?.(event, fn);
    this.#listeners.length = 0;
  }
}

/** Runs a client call; a synchronous throw becomes a rejection. */
function attempt<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `PUBSUB NUMSUB ch` answers `[ch, n]` (RESP2) or `{ch: n}` (RESP3). */
function parseCount(reply: unknown): number {
  let value: unknown;
  if (Array.isArray(reply)) value = reply[1];
  else if (reply instanceof Map) value = [...reply.values()][0];
  else if (reply && typeof reply === "object") value = Object.values(reply)[0];
  const n = typeof value === "number" ? value : parseInt(String(value), 10);
  if (!Number.isFinite(n)) throw new Error(`unexpected PUBSUB reply: ${JSON.stringify(reply)}`);
  return n;
}

const shared = new WeakMap<object, WeakMap<object, { pubsub: PubSub; users: number }>>();

/**
 * The PubSub of a client pair, shared by every adapter (namespace) using
 * that pair so client listeners are added once. `release()` detaches them
 * when the last adapter closes.
 */
export function acquirePubSub(pub: RedisClient, sub: RedisClient, opts: PubSubOptions): { pubsub: PubSub; release(): void } {
  let bySub = shared.get(pub);
  if (!bySub) {
    bySub = new WeakMap();
    shared.set(pub, bySub);
  }
  let entry = bySub.get(sub);
  if (!entry) {
    entry = { pubsub: new PubSub(pub, sub, opts), users: 0 };
    bySub.set(sub, entry);
  }
  entry.users++;
  const current = entry;
  let released = false;
  return {
    pubsub: current.pubsub,
    release() {
      if (released) return;
      released = true;
      if (--current.users === 0) {
        current.pubsub.detach();
        if (bySub.get(sub) === current) bySub.delete(sub);
      }
    },
  };
}

/** Throws a clear error unless both are Redis clients of a supported package. */
export function checkClients(pub: RedisClient, sub: RedisClient): void {
  detectKind(pub, "pubClient (first argument)");
  detectKind(sub, "subClient (second argument)");
  if (pub === sub) {
    throw new TidewireError(
      ErrorCodes.INVALID_OPTION,
      "tidewire/redis: pubClient and subClient are the same client. A subscribing client cannot publish: " +
        "pass a second connection, e.g. pubClient.duplicate().",
    );
  }
}
