/**
 * tidewire/redis-streams: scale tidewire over Redis streams, wire-compatible
 * with @socket.io/redis-streams-adapter 0.3, with connection state recovery
 * across nodes that survives a node dying. Accepts clients of the `redis`
 * package (v4 to v6; createClient or createCluster) and of `ioredis`
 * (Redis or Cluster).
 *
 *   const redis = createClient({ url }); await redis.connect();
 *   const io = new Server(httpServer, {
 *     adapter: createAdapter(redis),
 *     connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
 *   });
 */
import type { AdapterNamespace } from "../adapter/types.js";
import type { RedisClient } from "../redis/client.js";
import { RedisStreamsAdapter } from "./adapter.js";
import { clientKind } from "./commands.js";
import { StreamsContext } from "./context.js";
import { resolveStreamsOptions, type RedisStreamsAdapterOptions } from "./options.js";

/**
 * The adapter factory for `new Server(..., { adapter })`. `redisClient` must
 * be connected; it sends the writes, and is duplicated for the blocking
 * stream reads (one connection per stream) and for pub/sub (one connection).
 */
export function createAdapter(redisClient: RedisClient, opts?: RedisStreamsAdapterOptions): (nsp: AdapterNamespace) => RedisStreamsAdapter {
  clientKind(redisClient);
  const o = resolveStreamsOptions(opts);
  let ctx: StreamsContext | null = null;
  return (nsp) => {
    if (!ctx || ctx.closed) ctx = new StreamsContext(redisClient, o);
    return new RedisStreamsAdapter(nsp, ctx);
  };
}

export { RedisStreamsAdapter };
export type { ExpiredSession } from "./adapter.js";
export { RequestTimeoutError } from "../adapter/bus/index.js";
export { SessionNotRecoveredError, type SessionNotRecoveredReason } from "../adapter/session-errors.js";
export type { RedisStreamsAdapterOptions, RedisStreamsLimits, RedisStreamsRecoveryOptions } from "./options.js";
