// The server under test: `node --expose-gc bench/server.js <target> <scenario>`,
// started by bench/run.js pinned to core 0. The application code is the same
// for both targets; only the import differs. It talks to the parent over IPC:
// see lib/server-ipc.js.
// Multi-node scenarios (cross-node) get a third argument, the port of the
// run's private redis-server: the node then uses its target's Redis adapter
// (`tidewire/redis` or @socket.io/redis-adapter) with `redis` clients.
import http from "node:http";
import { requireHarness, serveHarness } from "./lib/server-ipc.js";

const TARGETS = {
  "socket.io": () => import("socket.io"),
  tidewire: () => import("../dist/index.js"),
};
const REDIS_ADAPTERS = {
  "socket.io": () => import("@socket.io/redis-adapter"),
  tidewire: () => import("../dist/redis.js"),
};

/** Broadcasts one fanout `burst` request may ask for. */
const MAX_BURST = 100;
/** Small JSON object carried by every fanout broadcast. */
const TICK_PAYLOAD = Object.freeze({ kind: "tick", text: "hello room", ok: true });

const [target, scenario, redisPort] = process.argv.slice(2);
if (!(target in TARGETS) || !scenario) {
  console.error("usage: node --expose-gc bench/server.js <socket.io|tidewire> <scenario> [redis port]");
  process.exit(2);
}
requireHarness("bench/server.js");

const { Server } = await TARGETS[target]();

const httpServer = http.createServer();
const io = new Server(httpServer);

/** Redis clients of this node (multi-node scenarios). */
let redisClients = [];
if (redisPort) {
  const { createClient } = await import("redis");
  const { createAdapter } = await REDIS_ADAPTERS[target]();
  const pub = createClient({ url: `redis://127.0.0.1:${Number(redisPort)}` });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on("error", (err) => console.error(`bench/server.js ${target}: redis: ${err?.message ?? err}`));
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients = [pub, sub];
  io.adapter(createAdapter(pub, sub));
}

// Event handlers per scenario: only what the scenario uses is registered, so
// the idle-memory figure counts what a small real application keeps per socket.
const HANDLERS = {
  echo: (socket) => socket.on("echo", (data, ack) => ack(data)),
  bin: (socket) => socket.on("bin", (buf, ack) => ack(buf)),
  join: (socket) =>
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack();
    }),
  leave: (socket) =>
    socket.on("leave", (room, ack) => {
      socket.leave(room);
      ack();
    }),
  say: (socket) =>
    socket.on("say", (room, msg, ack) => {
      socket.to(room).emit("said", msg);
      ack();
    }),
  burst: (socket) =>
    socket.on("burst", (from, count) => {
      const n = Math.min(count, MAX_BURST);
      for (let i = 0; i < n; i++) io.to("fan").emit("tick", from + i, TICK_PAYLOAD);
    }),
};

const SCENARIO_HANDLERS = {
  smoke: ["echo", "bin"],
  fanout: ["join", "burst"],
  "echo-ack": ["echo"],
  "connect-ws": ["echo"],
  "connect-polling": ["echo"],
  "idle-memory": ["echo"],
  "polling-echo": ["echo"],
  "binary-echo": ["bin"],
  "room-churn": ["join", "leave", "say"],
  "cross-node": ["join", "burst"],
};

const installers = (SCENARIO_HANDLERS[scenario] ?? []).map((name) => HANDLERS[name]);
if (installers.length === 0) {
  console.error(`bench/server.js: unknown scenario ${scenario}`);
  process.exit(2);
}
io.on("connection", (socket) => {
  for (const install of installers) install(socket);
});

httpServer.listen(0, "127.0.0.1", () => {
  serveHarness(httpServer, async () => ({
    engineClients: io.engine?.clientsCount,
    sockets: io.of("/").sockets.size,
    // nodes subscribed to this namespace's Redis channels, this one included
    nodes: redisClients.length ? await io.of("/").adapter.serverCount() : 1,
  }));
});
