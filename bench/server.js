// The server under test: `node --expose-gc bench/server.js <target> <scenario>`,
// started by bench/run.js pinned to core 0. The application code is the same
// for both targets; only the import differs. It talks to the parent over IPC:
// see lib/server-ipc.js.
// Multi-node scenarios (cross-node) get a third argument, the port of the
// run's private redis-server: the node then uses its target's Redis adapter
// (`tidewire/redis` or @socket.io/redis-adapter) with `redis` clients.
import http from "node:http";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { requireHarness, serveHarness } from "./lib/server-ipc.js";

const TARGETS = {
  "socket.io": () => import("socket.io"),
  tidewire: () => import("../dist/index.js"),
  // Another build of tidewire (BENCH_BASE_DIST: its dist/ directory), for A/B runs of two builds.
  base: () => import(baseDist("index.js")),
};
const REDIS_ADAPTERS = {
  "socket.io": () => import("@socket.io/redis-adapter"),
  tidewire: () => import("../dist/redis.js"),
  base: () => import(baseDist("redis.js")),
};

/** A module of the base build's dist/. */
function baseDist(file) {
  const dir = process.env.BENCH_BASE_DIST;
  if (!dir) throw new Error("the base target needs BENCH_BASE_DIST, the dist/ directory of another tidewire build");
  return pathToFileURL(resolve(dir, file)).href;
}

/** Broadcasts one fanout `burst` request may ask for. */
const MAX_BURST = 100;
/** Small JSON object carried by every fanout broadcast. */
const TICK_PAYLOAD = Object.freeze({ kind: "tick", text: "hello room", ok: true });
/** Broadcasts one fanout-distinct `blast` request may ask for. */
const MAX_BLAST = 10_000;
/** The 60-character string of every fanout-distinct payload. */
const BLAST_TEXT = "fanout-distinct: a fresh object per broadcast, 60 characters";
/**
 * Server options per scenario (default options otherwise, the same for both
 * targets): the scale scenario measures heartbeats at pingInterval 5 s.
 */
const SERVER_OPTIONS = { scale: { pingInterval: 5000 } };
/** Room every socket of the scale scenario joins on connection. */
const SCALE_ROOM = "all";

const [target, scenario, redisPort] = process.argv.slice(2);
if (!(target in TARGETS) || !scenario) {
  console.error("usage: node --expose-gc bench/server.js <socket.io|tidewire|base> <scenario> [redis port]");
  process.exit(2);
}
requireHarness("bench/server.js");

const { Server } = await TARGETS[target]();

const httpServer = http.createServer();
const io = new Server(httpServer, SERVER_OPTIONS[scenario] ?? {});

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
  // fanout-distinct: `count` broadcasts, `perTurn` per event-loop turn, each with a fresh object
  blast: (socket) =>
    socket.on("blast", (from, count, perTurn) => {
      const total = Math.min(count, MAX_BLAST);
      const per = Math.max(1, Math.min(perTurn, MAX_BURST));
      let sent = 0;
      const turn = () => {
        const end = Math.min(sent + per, total);
        for (; sent < end; sent++) io.to("fan").emit("tick", { t: Date.now(), s: from + sent, d: BLAST_TEXT });
        if (sent < total) setImmediate(turn);
      };
      turn();
    }),
  // scale: every socket in one room, for the runner's `broadcast` command
  room: (socket) => socket.join(SCALE_ROOM),
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
  "fanout-distinct": ["join", "blast"],
  scale: ["echo", "room"],
};

/** Monotonic clock (CLOCK_MONOTONIC, shared by every process of the machine) in whole µs. */
function monotonicUs() {
  const [sec, ns] = process.hrtime();
  return sec * 1e6 + Math.round(ns / 1e3);
}

/** Scenario-specific IPC commands of the runner. */
const COMMANDS = {
  scale: {
    /**
     * One `io.to(room).emit` to every connected socket, stamped with the
     * monotonic clock (the clients compute their latency from it). Measures
     * the server CPU and wall time of the emit and its flush: from just before
     * the emit until the first setImmediate after it (tidewire's flush runs in
     * a setImmediate queued by the emit, before this one; socket.io writes
     * inside the emit and finishes its write callbacks in process.nextTick).
     */
    broadcast({ seq }) {
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      io.to(SCALE_ROOM).emit("blast", { t: monotonicUs(), s: seq });
      return new Promise((resolve) =>
        setImmediate(() => {
          const cpu = process.cpuUsage(cpu0);
          resolve({ cpuUs: cpu.user + cpu.system, wallMs: performance.now() - w0, members: io.of("/").adapter.rooms.get(SCALE_ROOM)?.size ?? 0 });
        }),
      );
    },
  },
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
  }), COMMANDS[scenario]);
});
