/**
 * tidewire/redis: scale tidewire over several processes or machines through
 * Redis, wire-compatible with @socket.io/redis-adapter 8 and
 * @socket.io/redis-emitter. Accepts clients of the `redis` package (v4, v5, v6)
 * and of `ioredis`.
 *
 *   const pub = createClient({ url }); const sub = pub.duplicate();
 *   await Promise.all([pub.connect(), sub.connect()]);
 *   const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
 */
import type { AdapterNamespace } from "../adapter/types.js";
import { checkClients, type RedisClient } from "./client.js";
import { resolveRedisOptions, resolveShardedOptions, type RedisAdapterOptions, type ShardedRedisAdapterOptions } from "./options.js";
import { RedisAdapter } from "./redis-adapter.js";
import { ShardedRedisAdapter } from "./sharded-adapter.js";

/**
 * The adapter factory for `new Server(..., { adapter })` over classic Redis
 * pub/sub. `pubClient` publishes; `subClient` is put in subscriber mode and
 * must not be used for anything else. Both must be connected (node-redis:
 * `await client.connect()`).
 */
export function createAdapter(
  pubClient: RedisClient,
  subClient: RedisClient,
  opts?: RedisAdapterOptions,
): (nsp: AdapterNamespace) => RedisAdapter {
  checkClients(pubClient, subClient);
  resolveRedisOptions(opts);
  return (nsp) => new RedisAdapter(nsp, pubClient, subClient, opts);
}

/**
 * The adapter factory over Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE),
 * for Redis Cluster deployments: messages of a room spread over the shards.
 */
export function createShardedAdapter(
  pubClient: RedisClient,
  subClient: RedisClient,
  opts?: ShardedRedisAdapterOptions,
): (nsp: AdapterNamespace) => ShardedRedisAdapter {
  checkClients(pubClient, subClient);
  resolveShardedOptions(opts);
  return (nsp) => new ShardedRedisAdapter(nsp, pubClient, subClient, opts);
}

export { RedisAdapter, ShardedRedisAdapter };
export { RequestTimeoutError } from "../adapter/bus/index.js";
export { msgpackParser, MsgpackError } from "./msgpack/index.js";
export type { RedisAdapterOptions, ShardedRedisAdapterOptions, RedisAdapterLimits } from "./options.js";
export type { ForwardingOptions } from "../forward/index.js";
export type { Parser } from "./protocol.js";
