// A load-generator process: `node bench/load/worker.js`, started by
// bench/run.js pinned to core 1. It runs one scenario's client side and
// answers { id, cmd, args } requests over IPC with { id, result } / { id, error }:
//   setup  → open the scenario's sessions (not measured)
//   start  → begin the load; for storms, resolves when the storm is over
//   mark   → zero the counters: the measured window starts here
//   end    → counters, wall time and this process's CPU since `mark`
//   stop   → stop generating load (in-flight requests still complete)
//   call   → a scenario's own command: { name, args } → its `commands[name](ctx, args)`
//   exit   → exit at once
import { performance, monitorEventLoopDelay } from "node:perf_hooks";
import { WindowProfiler } from "../lib/profiler.js";
import { answerCommands } from "../lib/commands.js";

const SCENARIOS = {
  fanout: () => import("./scenarios/fanout.js"),
  "echo-ack": () => import("./scenarios/echo-ack.js"),
  "connect-ws": () => import("./scenarios/connect-ws.js"),
  "connect-polling": () => import("./scenarios/connect-polling.js"),
  "idle-memory": () => import("./scenarios/idle-memory.js"),
  "polling-echo": () => import("./scenarios/polling-echo.js"),
  "binary-echo": () => import("./scenarios/binary-echo.js"),
  "room-churn": () => import("./scenarios/room-churn.js"),
  // fanout's client side, its clients spread over the nodes (ctx.ports)
  "cross-node": () => import("./scenarios/fanout.js"),
  "fanout-distinct": () => import("./scenarios/fanout-distinct.js"),
  scale: () => import("./scenarios/scale.js"),
};

/** Error messages kept per window (the count is always exact). */
const MAX_ERROR_SAMPLES = 5;

if (typeof process.send !== "function") {
  console.error("bench/load/worker.js is started by bench/run.js over IPC; run `npm run bench` instead");
  process.exit(2);
}
process.on("disconnect", () => process.exit(0));

/**
 * Shared state between this process and the scenario module.
 * @typedef {object} LoadContext
 * @property {number} port the server's port (the first node's in multi-node scenarios)
 * @property {number[]} [ports] every node's port, in node order (multi-node scenarios)
 * @property {Record<string, number>} params this worker's share of the scenario parameters
 * @property {number} index worker index
 * @property {number} count number of workers
 * @property {{ units: number, bytes: number, deliveries: number, errors: number }} stats counters of the window
 * @property {boolean} running false once `stop` arrived: generate no new requests
 * @property {(err: unknown) => void} error counts an error (and keeps a sample)
 */

/** @type {LoadContext | null} */
let ctx = null;
let scenario = null;
let window = null;
const errorSamples = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const profiler = new WindowProfiler();

function error(err) {
  ctx.stats.errors++;
  if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(String(err?.message ?? err));
}

const commands = {
  async setup({ scenario: name, port, ports, params, index, count }) {
    if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name}`);
    scenario = await SCENARIOS[name]();
    ctx = { port, ports, params, index, count, stats: { units: 0, bytes: 0, deliveries: 0, errors: 0 }, running: false, error };
    await scenario.setup(ctx);
    return { errors: ctx.stats.errors, errorSamples };
  },
  async mark({ profile = null }) {
    if (profile) await profiler.start(profile);
    ctx.stats.units = 0;
    ctx.stats.bytes = 0;
    ctx.stats.deliveries = 0;
    ctx.stats.errors = 0;
    errorSamples.length = 0;
    loopDelay.reset();
    loopDelay.enable();
    window = { cpu: process.cpuUsage(), t0: performance.now() };
    return {};
  },
  async start() {
    ctx.running = true;
    const t0 = performance.now();
    await scenario.start(ctx);
    return { elapsedMs: performance.now() - t0 };
  },
  async call({ name, args }) {
    const command = scenario?.commands && Object.hasOwn(scenario.commands, name) ? scenario.commands[name] : undefined;
    if (!command) throw new Error(`the scenario has no command ${name}`);
    return command(ctx, args ?? {});
  },
  stop() {
    ctx.running = false;
    scenario.stop?.(ctx);
    return {};
  },
  async end() {
    if (window === null) throw new Error("end without mark");
    const cpu = process.cpuUsage(window.cpu);
    const elapsedMs = performance.now() - window.t0;
    loopDelay.disable();
    const stats = { ...ctx.stats };
    const profile = await profiler.stop();
    const result = {
      ...stats,
      profile,
      elapsedMs,
      cpuUser: cpu.user / 1e6,
      cpuSystem: cpu.system / 1e6,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      errorSamples: [...errorSamples],
    };
    window = null;
    return result;
  },
};

answerCommands(commands);

process.send({ type: "ready", pid: process.pid });
