// A soak load process: `node bench/soak/worker.js`, started by bench/soak/run.js
// (pinned to core 1). It holds its share of the clients (bench/soak/client.js)
// and answers { id, cmd, args } over IPC with { id, result } / { id, error }:
//   setup  → connect its clients (staggered), resolve once all are connected
//   start  → churn and emit (the soak window starts here)
//   stats  → counters so far, connected clients, CPU and event-loop delay
//   settle → stop churning and emitting, reconnect paused clients, wait for
//            every ack in flight; resolves once settled or after timeoutMs
//   report → final counters (acks still in flight count as missing), CPU %
//            and event-loop delay over the window; then closes the clients
//   exit   → exit at once
import { performance, monitorEventLoopDelay, createHistogram } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { SoakClient } from "./client.js";
import { newCounters } from "./checks.js";
import { SETUP_RATE } from "./config.js";
import { answerCommands } from "../lib/commands.js";


if (typeof process.send !== "function") {
  console.error("bench/soak/worker.js is started by bench/soak/run.js over IPC; run `npm run soak` instead");
  process.exit(2);
}
process.on("disconnect", () => process.exit(0));

/** @type {import("./client.js").SoakContext} */
let ctx = null;
/** @type {SoakClient[]} */
let clients = [];
let window = null;
/** Longest silence seen on a connected client during the window (ms). */
let maxSilenceMs = 0;
let silenceTimer = null;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

/** Polls `done` every 50 ms until true or `timeoutMs` elapsed; resolves with whether it became true. */
async function waitUntil(done, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const inflight = () => clients.reduce((n, c) => n + c.inflight, 0);

function usage() {
  const cpu = process.cpuUsage(window.cpu);
  const elapsedMs = performance.now() - window.t0;
  return {
    elapsedMs,
    cpuPct: (100 * (cpu.user + cpu.system)) / 1e3 / elapsedMs,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    ackMs: { p50: ctx.ackLatency.percentile(50) / 1e3, p99: ctx.ackLatency.percentile(99) / 1e3, max: ctx.ackLatency.max / 1e3 },
  };
}

const commands = {
  /**
   * @param {{ port: number, params: object, index: number, count: number, timeoutMs: number }} args
   * Client g (global index) = index + k * count: room g mod rooms, polling+upgrade when g mod pollingEvery is 0.
   */
  async setup({ port, params, index, count, timeoutMs }) {
    ctx = {
      url: `http://127.0.0.1:${port}`,
      params,
      counters: newCounters(),
      churning: false,
      emitting: false,
      closed: false,
      connected: 0,
      ackLatency: createHistogram(),
      incidents: [],
    };
    for (let g = index; g < params.clients; g += count) {
      const transports = g % params.pollingEvery === 0 ? ["polling", "websocket"] : ["websocket"];
      clients.push(new SoakClient(ctx, g % params.rooms, transports));
    }
    for (const client of clients) {
      client.connect();
      await sleep((1000 * count) / SETUP_RATE);
    }
    const ok = await waitUntil(() => ctx.connected === clients.length, timeoutMs);
    if (!ok) throw new Error(`only ${ctx.connected} of ${clients.length} clients connected within ${timeoutMs} ms`);
    return { clients: clients.length };
  },
  start() {
    ctx.churning = true;
    ctx.emitting = true;
    for (const client of clients) if (client.state === "connected") client.startLife();
    loopDelay.reset();
    loopDelay.enable();
    ctx.ackLatency.reset();
    window = { cpu: process.cpuUsage(), t0: performance.now() };
    silenceTimer = setInterval(() => {
      const now = Date.now();
      for (const client of clients) maxSilenceMs = Math.max(maxSilenceMs, client.checkSilence(now));
    }, 1000);
    return {};
  },
  stats() {
    return { counters: ctx.counters, connected: ctx.connected, clients: clients.length, maxSilenceMs, ...usage() };
  },
  async settle({ timeoutMs }) {
    ctx.churning = false;
    ctx.emitting = false;
    for (const client of clients) client.settle();
    const t0 = performance.now();
    const settled = await waitUntil(() => ctx.connected === clients.length && inflight() === 0, timeoutMs);
    return { settled, waitedMs: performance.now() - t0, connected: ctx.connected, inflight: inflight() };
  },
  report() {
    const result = usage();
    loopDelay.disable();
    clearInterval(silenceTimer);
    ctx.counters.acks.missing += inflight();
    ctx.closed = true;
    for (const client of clients) client.close();
    return { counters: ctx.counters, clients: clients.length, maxSilenceMs, incidents: ctx.incidents, ...result };
  },
};

answerCommands(commands);
process.send({ type: "ready", pid: process.pid });
