/**
 * An application that switches its server to tidewire and keeps
 * @socket.io/redis-adapter 8.3: the cross-node scenarios on tidewire Servers
 * using the official adapter, classic and sharded, alone and next to a
 * socket.io node.
 */
import { S, TR, crossNodeSuite } from "./helpers/scenarios.js";

crossNodeSuite([
  { name: "tidewire Server + @socket.io/redis-adapter, classic, redis5", client: "redis5", impls: [TR, TR, TR], sharded: false },
  { name: "tidewire Server + @socket.io/redis-adapter, sharded, ioredis", client: "ioredis", impls: [TR, TR, TR], sharded: true },
  { name: "tidewire Server + @socket.io/redis-adapter next to socket.io, classic, redis6", client: "redis6", impls: [TR, S, TR], sharded: false },
]);
