/**
 * A socket.io 4.8 application's server, written against socket.io's own
 * types. package-types.test.ts compiles it against the built tidewire package
 * (as node_modules/tidewire) under four module settings, and, with "tidewire"
 * swapped for "socket.io" and "tidewire/redis" for "@socket.io/redis-adapter",
 * against socket.io itself: proof that it is a fair socket.io user's file.
 * Every `@ts-expect-error` must be used, so typing that is too loose fails too.
 * No top-level await: the same file is compiled as ESM and as CommonJS.
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { createClient } from "redis";
import {
  Server,
  type BroadcastOperator,
  type DefaultEventsMap,
  type DisconnectReason,
  type Event,
  type ExtendedError,
  type Namespace,
  type RemoteSocket,
  type ServerOptions,
  type Socket,
} from "tidewire";
import { createAdapter } from "tidewire/redis";

interface ClientToServerEvents {
  join: (room: string, ack: (ok: boolean) => void) => void;
  chat: (room: string, text: string) => void;
}

interface ServerToClientEvents {
  message: (from: string, text: string) => void;
  probe: (ack: (latency: number) => void) => void;
  whois: (ack: (name: string, age: number) => void) => void;
}

interface InterServerEvents {
  announce: (node: string) => void;
}

interface SocketData {
  user: string;
}

type AppServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const httpServer = createServer();
const options: Partial<ServerOptions> = { pingInterval: 10_000, pingTimeout: 5_000, cors: { origin: "*" } };
const io: AppServer = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(
  httpServer,
  options,
);

// --- Redis adapters: node-redis and ioredis clients -------------------------------------------

const pubClient = createClient({ url: "redis://127.0.0.1:6379" });
const subClient = pubClient.duplicate();
export const clustered = new Server(createServer(), { adapter: createAdapter(pubClient, subClient) });

const ioredisPub = new Redis("redis://127.0.0.1:6379");
const ioredisSub = ioredisPub.duplicate();
io.adapter(createAdapter(ioredisPub, ioredisSub, { key: "app" }));

// @ts-expect-error pingInterval is a number of milliseconds
export const wrongOption = new Server(createServer(), { pingInterval: "10s" });

// --- middleware ---------------------------------------------------------------------------------

io.use((socket, next) => {
  const token: unknown = socket.handshake.auth.token;
  if (typeof token !== "string") {
    const err: ExtendedError = new Error("not authorized");
    err.data = { content: "log in first" };
    return next(err);
  }
  socket.data.user = token;
  next();
});

// --- connections ------------------------------------------------------------------------------

io.on("connection", (socket: AppSocket) => {
  socket.use(([event, ...args]: Event, next) => {
    if (event === "chat" && args.length > 2) return next(new Error("too many arguments"));
    next();
  });

  socket.on("join", async (room, ack) => {
    await socket.join(room);
    ack(true);
  });
  socket.on("chat", (room, text) => {
    socket.to(room).emit("message", socket.data.user, text);
  });
  socket.on("disconnect", (reason: DisconnectReason, description?: unknown) => {
    if (reason === "ping timeout") console.log(socket.id, "lost", description);
  });

  // one client: a single answer
  socket.timeout(1_000).emit("probe", (err, latency) => {
    if (err) return;
    const ms: number = latency;
    void ms;
  });
  const single: Promise<number> = socket.timeout(1_000).emitWithAck("probe");
  void single;

  // broadcasts from the socket: one answer per client
  socket.broadcast.timeout(1_000).emit("probe", (err, latencies) => {
    if (err) return;
    const all: number[] = latencies;
    void all;
  });
  socket.to("lobby").timeout(1_000).emit("probe", (_err, latencies) => {
    const all: number[] = latencies;
    void all;
  });
  const fromRoom: Promise<number[]> = socket.to("lobby").timeout(1_000).emitWithAck("probe");
  void fromRoom;

  // @ts-expect-error the message text is a string
  socket.to("lobby").emit("message", "me", 42);
  // @ts-expect-error not an event the client sends
  socket.on("message", () => undefined);
  // @ts-expect-error the join acknowledgement takes a boolean
  socket.on("join", (_room, ack) => ack("yes"));
  // @ts-expect-error not a field of SocketData
  socket.data.role = "admin";
});

// --- server-wide broadcasts --------------------------------------------------------------------

io.emit("message", "server", "hello");
io.to("lobby").except("muted").emit("message", "server", "hi");
io.to("lobby").timeout(1_000).emit("probe", (err, latencies) => {
  if (err) return;
  const all: number[] = latencies;
  void all;
});
io.timeout(1_000).emit("whois", (_err, names) => {
  const all: string[] = names;
  void all;
});
// @ts-expect-error a broadcast acknowledgement collects an array of latencies, not of arrays
io.to("lobby").timeout(1_000).emit("probe", (_err: Error, _latencies: number[][]) => undefined);
// @ts-expect-error an event with an acknowledgement needs timeout() to be broadcast
io.emit("probe", () => undefined);

const lobby: BroadcastOperator<ServerToClientEvents, SocketData> = io.to("lobby");
void lobby;

export async function stats(): Promise<number> {
  const latencies: number[] = await io.to("lobby").timeout(1_000).emitWithAck("probe");
  const remote: RemoteSocket<ServerToClientEvents, SocketData>[] = await io.in("lobby").fetchSockets();
  for (const socket of remote) {
    const name: string = socket.data.user;
    socket.emit("message", "server", `hello ${name}`);
    socket.timeout(1_000).emit("probe", (_err, latency) => {
      const ms: number = latency;
      void ms;
    });
  }
  io.in("lobby").socketsJoin("everyone");
  io.except("lobby").disconnectSockets(true);
  return latencies.length + remote.length;
}

// --- namespaces and server-side events ---------------------------------------------------------

const admin: Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> = io.of("/admin");
admin.on("connection", (socket) => socket.emit("message", "admin", "welcome"));
admin.to("ops").timeout(500).emit("probe", (_err, latencies) => {
  const all: number[] = latencies;
  void all;
});
io.serverSideEmit("announce", "node-1");
io.on("announce", (node) => {
  const name: string = node;
  void name;
});
// @ts-expect-error the node name is a string
io.serverSideEmit("announce", 1);

// --- an untyped server ----------------------------------------------------------------------------

const loose = new Server<DefaultEventsMap, DefaultEventsMap>();
loose.on("connection", (socket) => {
  socket.emit("anything", 1, "two", { three: 3 });
  socket.on("whatever", (...args: unknown[]) => void args);
});

httpServer.listen(3000);
