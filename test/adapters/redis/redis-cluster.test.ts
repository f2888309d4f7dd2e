/**
 * The cross-node scenarios on a Redis Cluster of three masters (started for
 * this file), with cluster clients: node-redis v5 and v6 `createCluster` and
 * ioredis `Cluster`. Sharded pub/sub puts each channel on the shard owning its slot;
 * classic pub/sub is broadcast by Redis to every shard. Subscriber counts are
 * summed over the cluster's nodes.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, it } from "vitest";
import { io as ioClient } from "socket.io-client";
import { Server } from "../../../src/index.js";
import { createShardedAdapter } from "../../../src/redis/index.js";
import { againstReference, onClose, privateRedisCluster, uniqueKey, waitFor, type PrivateRedisCluster } from "./helpers/cluster.js";
import { T, crossNodeSuite, type Config } from "./helpers/scenarios.js";

const require = createRequire(import.meta.url);

let redisCluster: PrivateRedisCluster | undefined;
beforeAll(async () => {
  redisCluster = await privateRedisCluster();
}, 30000);
afterAll(() => redisCluster?.stop());

const env = () => ({ REDIS_CLUSTER: redisCluster!.nodes.join(",") });
const configs: Config[] = [
  { name: "tidewire nodes, sharded, redis5 cluster client", client: "redis5", impls: [T, T, T], sharded: true, env },
  { name: "tidewire nodes, sharded, redis6 cluster client", client: "redis6", impls: [T, T, T], sharded: true, env },
  { name: "tidewire nodes, sharded, ioredis Cluster", client: "ioredis", impls: [T, T, T], sharded: true, env },
  { name: "tidewire nodes, classic, redis5 cluster client", client: "redis5", impls: [T, T, T], sharded: false, env },
];
crossNodeSuite(configs);

describe.skipIf(againstReference)("sharded adapter on a Redis Cluster, in-process", () => {
  it("resolves `await socket.join(room)` once the room's shard channel is subscribed", async () => {
    const { createCluster } = require("redis");
    const key = uniqueKey();
    const start = async () => {
      const pub = createCluster({ rootNodes: redisCluster!.nodes.map((n) => ({ url: `redis://${n}` })) });
      const sub = pub.duplicate();
      for (const c of [pub, sub]) c.on("error", () => {});
      await Promise.all([pub.connect(), sub.connect()]);
      onClose(async () => {
        await Promise.allSettled([pub.quit(), sub.quit()]);
      });
      const httpServer = http.createServer();
      const io = new Server(httpServer, { adapter: createShardedAdapter(pub, sub, { channelPrefix: key }) });
      onClose(() => new Promise<void>((r) => io.close(() => r())));
      await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
      await io.of("/").adapter.init();
      return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
    };
    const a = await start();
    const b = await start();
    b.io.on("connection", async (socket: any) => {
      await socket.join(socket.handshake.auth.room);
      socket.emit("joined");
    });
    // Rooms hash to different slots, hence different shards.
    for (let i = 0; i < 8; i++) {
      const room = `room-${i}-${uniqueKey()}`;
      const client = ioClient(b.url, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { room } });
      onClose(() => client.disconnect());
      await waitFor(client, "joined");
      const hello = waitFor(client, "hello", 2000);
      a.io.to(room).emit("hello");
      await hello;
    }
  });
});
