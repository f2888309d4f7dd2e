/**
 * Mixed clusters: tidewire nodes and socket.io 4.8 nodes with
 * @socket.io/redis-adapter 8.3 in one cluster, each side acting, over
 * classic and sharded pub/sub.
 */
import { S, T, crossNodeSuite } from "./helpers/scenarios.js";

crossNodeSuite([
  { name: "mixed, tidewire acting, classic, redis5", client: "redis5", impls: [T, S, T], sharded: false },
  { name: "mixed, socket.io acting, classic, ioredis", client: "ioredis", impls: [S, T, S], sharded: false },
  { name: "mixed, tidewire acting, sharded, ioredis", client: "ioredis", impls: [T, S, T], sharded: true },
  { name: "mixed, socket.io acting, sharded, redis5", client: "redis5", impls: [S, T, S], sharded: true },
]);
