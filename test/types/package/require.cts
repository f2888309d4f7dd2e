/**
 * CommonJS TypeScript (.cts): `import x = require()` and named imports of
 * values and types from the callable `require("tidewire")`.
 */
import { createServer } from "node:http";
import tidewire = require("tidewire");
import redis = require("tidewire/redis");
import { Server, type DefaultEventsMap, type DisconnectReason, type ExtendedError } from "tidewire";
import { createAdapter } from "tidewire/redis";

interface Events {
  tick: (n: number) => void;
}

// require("tidewire")(srv, opts), as with socket.io
const io: Server<Events, Events> = tidewire<Events>(createServer(), { pingInterval: 5_000 });
const same: tidewire.Server = new tidewire.Server({ path: "/rt" });
const plain = tidewire();
void same;
void plain;

io.use((_socket, next) => {
  const err: ExtendedError = new Error("no");
  err.data = 1;
  next(err);
});
io.on("connection", (socket) => {
  socket.emit("tick", 1);
  // @ts-expect-error n is a number
  socket.emit("tick", "1");
  socket.on("disconnect", (reason: DisconnectReason) => void reason);
});

// tidewire/redis's adapter where tidewire's ServerOptions expects one (one RedisAdapter declaration)
declare const pubClient: unknown;
declare const subClient: unknown;
export const clustered = new Server(createServer(), { adapter: createAdapter(pubClient, subClient) });
export const viaNamespace = new tidewire.Server({ adapter: redis.createAdapter(pubClient, subClient) });
export const loose: Server<DefaultEventsMap> = new Server();
