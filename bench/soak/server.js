// The soak's server under test: `node --expose-gc bench/soak/server.js <target> <params json>`,
// started by bench/soak/run.js pinned to core 0. The application code is the
// same for both targets; only the import differs (as in bench/server.js).
//
// Application: client g joins room g mod rooms (handshake auth); each room
// gets a broadcast with the room's sequence number every tickMs; each socket
// gets a direct message with its own sequence number every directMs
// (alternately socket.emit and io.to(socket.id).emit); `work` emits are
// acked with (n, a + b, bin), every 4th after a short delay.
//
// IPC commands: sample (memory after forced GC, CPU, counters), exit.
import http from "node:http";
import { requireHarness } from "../lib/server-ipc.js";
import { DEFAULTS, SLOW_ACK_MAX_MS, roomName } from "./config.js";
import { answerCommands } from "../lib/commands.js";

const TARGETS = {
  "socket.io": () => import("socket.io"),
  tidewire: () => import("../../dist/index.js"),
};

/** Small JSON object carried by every room broadcast. */
const TICK_PAYLOAD = Object.freeze({ kind: "tick", text: "hello room", ok: true });
/** Direct messages are sent in this many slots per directMs (a slot of the sockets each time). */
const DIRECT_SLOTS = 5;

const [target, paramsJson] = process.argv.slice(2);
if (!(target in TARGETS)) {
  console.error("usage: node --expose-gc bench/soak/server.js <socket.io|tidewire> [params json]");
  process.exit(2);
}
requireHarness("bench/soak/server.js");
const params = { ...DEFAULTS, ...(paramsJson ? JSON.parse(paramsJson) : {}) };

const { Server } = await TARGETS[target]();
const httpServer = http.createServer();
const io = new Server(httpServer);

const roomSeq = new Array(params.rooms).fill(0);
const counters = { connections: 0, disconnections: 0, badHandshakes: 0, acks: 0 };
/** Server-side disconnect reasons, for the report. */
const reasons = {};
/** Details of the first disconnects the client did not ask for. */
const incidents = [];
const MAX_INCIDENTS = 30;
let nextSlot = 0;

io.on("connection", (socket) => {
  counters.connections++;
  const r = socket.handshake.auth?.room;
  if (!Number.isInteger(r) || r < 0 || r >= params.rooms) {
    counters.badHandshakes++;
    socket.disconnect(true);
    return;
  }
  socket.join(roomName(r));
  socket.data.slot = nextSlot++ % DIRECT_SLOTS;
  socket.data.seq = 0;
  // Joined and told the room's current sequence number in the same turn: the
  // client's first broadcast of the room must be the next one.
  socket.emit("welcome", r, roomSeq[r]);
  socket.on("work", (n, data, ack) => {
    if (typeof ack !== "function") return;
    const reply = () => {
      counters.acks++;
      ack(n, data.a + data.b, data.bin ?? null);
    };
    if (n % 4 === 0) setTimeout(reply, Math.random() * SLOW_ACK_MAX_MS);
    else reply();
  });
  const connectedAt = Date.now();
  socket.on("disconnect", (reason) => {
    counters.disconnections++;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    if (reason !== "client namespace disconnect" && incidents.length < MAX_INCIDENTS) {
      const now = Date.now();
      incidents.push({ at: new Date(now).toISOString(), reason, room: r, transport: socket.conn?.transport?.name ?? null, connectedForMs: now - connectedAt });
    }
  });
});

// Room broadcasts, the rooms staggered over the tick period.
const timers = [];
for (let r = 0; r < params.rooms; r++) {
  const start = setTimeout(() => {
    timers.push(setInterval(() => io.to(roomName(r)).emit("tick", r, ++roomSeq[r], TICK_PAYLOAD), params.tickMs));
  }, (r * params.tickMs) / params.rooms);
  timers.push(start);
}

// Direct messages: every directMs / DIRECT_SLOTS, the sockets of one slot.
let slotTurn = 0;
timers.push(
  setInterval(() => {
    const slot = slotTurn++ % DIRECT_SLOTS;
    for (const socket of io.of("/").sockets.values()) {
      if (socket.data.slot !== slot) continue;
      const seq = ++socket.data.seq;
      if (seq % 2 === 1) socket.emit("direct", seq);
      else io.to(socket.id).emit("direct", seq);
    }
  }, params.directMs / DIRECT_SLOTS),
);

async function collectGarbage() {
  // Two passes with a turn in between so finalizers and weak callbacks run.
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}

const commands = {
  /** Memory after a forced collection, cumulative CPU and counters. */
  async sample() {
    await collectGarbage();
    const { heapUsed, rss } = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
      heapUsed,
      rss,
      cpuSec: (cpu.user + cpu.system) / 1e6,
      cpuUserSec: cpu.user / 1e6,
      sockets: io.of("/").sockets.size,
      engineClients: io.engine?.clientsCount,
      ...counters,
      reasons: { ...reasons },
      incidents: [...incidents],
    };
  },
};

answerCommands(commands);

httpServer.listen(0, "127.0.0.1", () => {
  process.send({ type: "ready", port: httpServer.address().port, pid: process.pid });
});
