/**
 * The adapter on a Redis Cluster of three masters started for this file,
 * with cluster clients (node-redis createCluster, ioredis Cluster), over
 * classic and sharded pub/sub.
 */
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { closeAll, missingRequirement, privateRedisCluster, type PrivateRedisCluster } from "./helpers.js";
import { crossNodeAndRecovery } from "./scenario.js";

const missing = await missingRequirement({ redisServer: true });
afterEach(closeAll);

let cluster: PrivateRedisCluster | undefined;
beforeAll(async () => {
  if (!missing) cluster = await privateRedisCluster();
}, 30000);
afterAll(() => cluster?.stop());

const env = () => ({ REDIS_CLUSTER: cluster!.nodes.join(",") });

describe.skipIf(missing !== null)("on a Redis Cluster", () => {
  it("redis5 createCluster, classic pub/sub", () => crossNodeAndRecovery({ client: "redis5", env: env() }));
  it("ioredis Cluster, sharded pub/sub", () => crossNodeAndRecovery({ client: "ioredis", env: env(), adapterOpts: { useShardedPubSub: true } }));
  it("redis5 createCluster, sharded pub/sub, streamCount 2", () =>
    crossNodeAndRecovery({ client: "redis5", env: env(), adapterOpts: { useShardedPubSub: true, streamCount: 2 } }));
});
