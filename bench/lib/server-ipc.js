// The measuring side of a server under test: answers the runner's IPC
// commands (mark, end, stats) and announces readiness. Shared by
// bench/server.js and bench/calibrate/raw-server.js.
import { performance } from "node:perf_hooks";
import { getHeapSnapshot, getHeapSpaceStatistics } from "node:v8";
import { readdirSync, readFileSync } from "node:fs";
import { WindowProfiler } from "./profiler.js";
import { answerCommands } from "./commands.js";

async function collectGarbage() {
  // Two passes with a turn in between so finalizers and weak callbacks run.
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}

function newSpaceSize() {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/**
 * Waits, at most `maxMs`, until V8's young generation is back to `size`
 * bytes or smaller than it was: a burst of allocations grows it (up to
 * 32 MB), and V8's memory reducer shrinks it again a few seconds after the
 * process goes idle. Until then RSS counts that capacity, whatever the
 * connections themselves hold.
 */
async function settleNewSpace(size, maxMs) {
  const t0 = performance.now();
  const grown = newSpaceSize();
  // Settled once back to the size at `mark`, or once V8 shrank it at all (it may keep more than at start).
  const settled = () => newSpaceSize() <= size || newSpaceSize() < grown;
  while (!settled() && performance.now() - t0 < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { settleMs: Math.round(performance.now() - t0), settled: settled() };
}

/**
 * CPU time (s) of this process's main thread and of all its other threads
 * together (V8's platform workers: concurrent and parallel GC, compilation;
 * libuv's pool), from /proc/self/task/<tid>/schedstat (ns, user + system);
 * null where /proc is unavailable. process.cpuUsage() counts every thread.
 */
function threadCpu() {
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync("/proc/self/task")) {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (Number(tid) === process.pid) main += ns;
      else others += ns;
    }
    return { main: main / 1e9, others: others / 1e9 };
  } catch {
    return null;
  }
}

function memory() {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

/**
 * Self size and count of the heap's objects by kind (`type:constructor`, strings
 * together) after forced GC, from a heap snapshot, and heapUsed after that GC
 * (before the snapshot's own garbage).
 * @returns {Promise<{ kinds: Map<string, { count: number, bytes: number }>, heapUsed: number }>}
 */
async function heapByKind() {
  await collectGarbage();
  const heapUsed = process.memoryUsage().heapUsed;
  const chunks = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk);
  const snapshot = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const nodes = snapshot.nodes;
  const kinds = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = type.includes("string") ? "" : type === "code" || type === "hidden" ? "" : snapshot.strings[nodes[i + nameAt]];
    const kind = `${type}${name ? `: ${name}` : ""}`.slice(0, 100);
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    kinds.set(kind, entry);
  }
  return { kinds, heapUsed };
}

/** The `heapBreakdown` command of bench/memory-breakdown.js: a snapshot before, the per-connection diff after. */
function heapBreakdownCommand() {
  let before = null;
  let heapBefore = 0;
  return async ({ phase, connections = 1, top = 30 }) => {
    if (phase === "before") {
      ({ kinds: before, heapUsed: heapBefore } = await heapByKind());
      return {};
    }
    if (before === null) throw new Error("heapBreakdown: no 'before' snapshot");
    const { kinds: after, heapUsed } = await heapByKind();
    const heapPerConnection = (heapUsed - heapBefore) / connections;
    const rows = [];
    for (const [kind, { count, bytes }] of after) {
      const base = before.get(kind) ?? { count: 0, bytes: 0 };
      const grown = (bytes - base.bytes) / connections;
      if (grown > 4) rows.push({ kind, count: (count - base.count) / connections, bytes: grown });
    }
    rows.sort((a, b) => b.bytes - a.bytes);
    return { heapPerConnection, shownBytes: rows.reduce((sum, r) => sum + r.bytes, 0), rows: rows.slice(0, top) };
  };
}

/**
 * Checks the process was started the way run.js starts it; exits with a
 * clear message otherwise.
 * @param {string} script name for messages
 */
export function requireHarness(script) {
  if (typeof globalThis.gc !== "function") {
    console.error(`${script} needs --expose-gc (memory is measured after a forced collection)`);
    process.exit(2);
  }
  if (typeof process.send !== "function") {
    console.error(`${script} is started by bench/run.js over IPC; run \`npm run bench\` instead`);
    process.exit(2);
  }
  // The parent going away (even killed) must not leave this process behind.
  process.on("disconnect", () => process.exit(0));
}

/**
 * The soft limit on open files of this process (from /proc/self/limits), or
 * NaN where unknown: the scale scenario needs one socket per connection.
 */
export function openFileLimit() {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    return Number(line?.split(/\s{2,}/)[1]);
  } catch {
    return NaN;
  }
}

/**
 * Serves the runner's commands and reports `ready` with the port.
 * @param {import("node:http").Server} httpServer listening
 * @param {() => object | Promise<object>} stats extra counters for the `stats` command
 * @param {Record<string, (args: object) => unknown>} [extra] scenario-specific commands
 *   (e.g. the scale scenario's `broadcast`)
 */
export function serveHarness(httpServer, stats, extra = {}) {
  /** Measurement window state. */
  let window = null;
  const profiler = new WindowProfiler();
  const commands = {
    /**
     * Starts the measured window; with `gc`, records memory after a forced
     * collection first; with `profile`, CPU-profiles the window into that file.
     */
    async mark({ gc = false, profile = null } = {}) {
      let baseline = null;
      if (gc) {
        await collectGarbage();
        baseline = memory();
      }
      if (profile) await profiler.start(profile);
      window = { cpu: process.cpuUsage(), threads: threadCpu(), t0: performance.now(), baseline, newSpace: newSpaceSize() };
      return { baseline };
    },
    /**
     * Ends the window: CPU and wall time since `mark`, then memory after GC if
     * asked; with `settle` (ms), memory again once the young generation is back
     * to its size at `mark` (the idle figure).
     */
    async end({ gc = false, settle = 0 } = {}) {
      if (window === null) throw new Error("end without mark");
      const cpu = process.cpuUsage(window.cpu);
      const threads = threadCpu();
      const elapsedMs = performance.now() - window.t0;
      const result = { cpuUser: cpu.user / 1e6, cpuSystem: cpu.system / 1e6, elapsedMs, baseline: window.baseline, after: null };
      // CPU of the main thread and of the others (GC helpers…) in the window
      if (threads && window.threads) result.threads = { main: threads.main - window.threads.main, others: threads.others - window.threads.others };
      result.profile = await profiler.stop();
      if (gc) {
        await collectGarbage();
        result.after = memory();
        if (settle > 0) {
          result.settle = await settleNewSpace(window.newSpace, settle);
          await collectGarbage();
          result.afterSettled = memory();
        }
      }
      window = null;
      return result;
    },
    async stats() {
      return { ...(await stats()), ...memory(), openFileLimit: openFileLimit() };
    },
    heapBreakdown: heapBreakdownCommand(),
    ...extra,
  };
  answerCommands(commands);
  process.send({ type: "ready", port: httpServer.address().port, pid: process.pid });
}
