// One server node of the recovery benchmark: tidewire + tidewire/redis-streams
// (from dist/) or socket.io 4.8 + @socket.io/redis-streams-adapter 0.3.1, the
// same application, connection state recovery on. Configured by environment
// (IMPL, REDIS_URL, KEY, ROLE); answers IPC commands.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { IMPL, REDIS_URL, KEY } = process.env;
const { Redis } = require("ioredis");

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
redis.on("error", () => {});
await new Promise((r) => (redis.status === "ready" ? r() : redis.once("ready", r)));

const adapterOpts = { streamName: `${KEY}-stream`, channelPrefix: KEY, sessionKeyPrefix: `${KEY}:session:` };
let Server, adapter;
if (IMPL === "socket.io") {
  Server = require("socket.io").Server;
  adapter = require("@socket.io/redis-streams-adapter").createAdapter(redis, adapterOpts);
} else {
  Server = (await import("../../dist/index.js")).Server;
  adapter = (await import("../../dist/redis-streams.js")).createAdapter(redis, adapterOpts);
}

const httpServer = http.createServer();
const io = new Server(httpServer, { adapter, connectionStateRecovery: { maxDisconnectionDuration: 120000 } });
io.on("connection", (socket) => {
  if (!socket.recovered && typeof socket.handshake.auth?.room === "string") socket.join(socket.handshake.auth.room);
});

let ticker = null;
const seq = new Map();
let blast = null;

const commands = {
  cpu: () => process.cpuUsage(),
  count: () => io.of("/").sockets.size,
  startTicker: ({ rooms, interval }) => {
    // One broadcast per interval, to the rooms in turn; each room's broadcasts are numbered 1, 2, 3...
    let turn = 0;
    ticker = setInterval(() => {
      const room = rooms[turn++ % rooms.length];
      const n = (seq.get(room) ?? 0) + 1;
      seq.set(room, n);
      io.to(room).emit("tick", room, n);
    }, interval);
  },
  stopTicker: () => {
    clearInterval(ticker);
    return Object.fromEntries(seq);
  },
  // Broadcasts `perTurn` messages to `room` every `everyMs`, for `ms`.
  blast: ({ room, perTurn, everyMs, ms }) =>
    new Promise((resolve) => {
      let sent = 0;
      const end = Date.now() + ms;
      blast = setInterval(() => {
        if (Date.now() >= end) {
          clearInterval(blast);
          return resolve(sent);
        }
        for (let i = 0; i < perTurn; i++) io.to(room).emit("blast", sent++);
      }, everyMs);
    }),
};

process.on("message", async (msg) => {
  if (!msg || typeof msg.id !== "number") return;
  try {
    process.send({ id: msg.id, result: await commands[msg.cmd](msg.args ?? {}) });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.message ?? err) });
  }
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));

httpServer.listen(0, "127.0.0.1", async () => {
  await io.of("/").adapter.init?.();
  // The reference starts reading its stream a moment after connecting a duplicate client, unannounced.
  if (IMPL === "socket.io") await new Promise((r) => setTimeout(r, 500));
  process.send({ type: "ready", port: httpServer.address().port });
});
