// The server under test: `node --expose-gc bench/server.js <target> <scenario>`,
// started by bench/run.js pinned to core 0. The application code is the same
// for both targets; only the import differs. It talks to the parent over IPC:
// it announces { type: "ready", port } and answers { id, cmd } requests with
// { id, result } or { id, error }.
import http from "node:http";
import { performance } from "node:perf_hooks";

const TARGETS = {
  "socket.io": () => import("socket.io"),
  tidewire: () => import("../dist/index.js"),
};

/** Broadcasts one fanout `burst` request may ask for. */
const MAX_BURST = 100;
/** Small JSON object carried by every fanout broadcast. */
const TICK_PAYLOAD = Object.freeze({ kind: "tick", text: "hello room", ok: true });

const [target, scenario] = process.argv.slice(2);
if (!(target in TARGETS) || !scenario) {
  console.error("usage: node --expose-gc bench/server.js <socket.io|tidewire> <scenario>");
  process.exit(2);
}
if (typeof globalThis.gc !== "function") {
  console.error("bench/server.js needs --expose-gc (memory is measured after a forced collection)");
  process.exit(2);
}
if (typeof process.send !== "function") {
  console.error("bench/server.js is started by bench/run.js over IPC; run `npm run bench` instead");
  process.exit(2);
}
// The parent going away (even killed) must not leave this process behind.
process.on("disconnect", () => process.exit(0));

const { Server } = await TARGETS[target]();

const httpServer = http.createServer();
const io = new Server(httpServer);

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
};

const installers = (SCENARIO_HANDLERS[scenario] ?? []).map((name) => HANDLERS[name]);
if (installers.length === 0) {
  console.error(`bench/server.js: unknown scenario ${scenario}`);
  process.exit(2);
}
io.on("connection", (socket) => {
  for (const install of installers) install(socket);
});

/** Measurement window state. */
let window = null;

async function collectGarbage() {
  // Two passes with a turn in between so finalizers and weak callbacks run.
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}

function memory() {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

const commands = {
  /** Starts the measured window; with `gc`, records memory after a forced collection first. */
  async mark({ gc = false } = {}) {
    let baseline = null;
    if (gc) {
      await collectGarbage();
      baseline = memory();
    }
    window = { cpu: process.cpuUsage(), t0: performance.now(), baseline };
    return { baseline };
  },
  /** Ends the window: CPU and wall time since `mark`, then memory after GC if asked. */
  async end({ gc = false } = {}) {
    if (window === null) throw new Error("end without mark");
    const cpu = process.cpuUsage(window.cpu);
    const elapsedMs = performance.now() - window.t0;
    const result = { cpuUser: cpu.user / 1e6, cpuSystem: cpu.system / 1e6, elapsedMs, baseline: window.baseline, after: null };
    if (gc) {
      await collectGarbage();
      result.after = memory();
    }
    window = null;
    return result;
  },
  async stats() {
    return { engineClients: io.engine?.clientsCount, sockets: io.of("/").sockets.size, ...memory() };
  },
};

process.on("message", async (msg) => {
  const command = commands[msg?.cmd];
  try {
    if (!command) throw new Error(`unknown command ${msg?.cmd}`);
    process.send({ id: msg.id, result: await command(msg.args) });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});

httpServer.listen(0, "127.0.0.1", () => {
  process.send({ type: "ready", port: httpServer.address().port, pid: process.pid });
});
