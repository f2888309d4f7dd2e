// Soak runner (`npm run soak [-- options]`): 2000 official socket.io-client
// clients spread over several load processes churn against one server for a
// bounded time, every client checking sequence numbers and acks; the server's
// heap after forced GC is sampled to give a trend per minute. Server pinned to
// core 0, load workers (and this runner) to core 1.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { PinnedChild, pinSelf, killAllChildren } from "../lib/children.js";
import { sampleCores, busyPercent } from "../lib/core-usage.js";
import { DEFAULTS, SETUP_RATE } from "./config.js";
import { summarize, textTable, markdownTable } from "./report.js";
import { sampleNet, netDelta, runQueueWaitSec } from "./net-stats.js";

const SERVER_CORE = 0;
const LOAD_CORE = 1;
/** Bound on connecting every client before the soak starts. */
const SETUP_TIMEOUT_MS = 60_000;
/** Bound on reconnecting paused clients and draining acks after the soak. */
const SETTLE_TIMEOUT_MS = 20_000;
/** Bound on one server sample (two forced collections) or one worker answer. */
const IPC_TIMEOUT_MS = 30_000;
/** Whole-run watchdog beyond the planned time: everything is killed after it. */
const WATCHDOG_SLACK_MS = 180_000;

const USAGE = `usage: npm run soak -- [options]
  --target <name>     tidewire (default) | socket.io | both (socket.io, then tidewire)
  --duration <time>   soak window, e.g. 180s, 10m, 90000 (ms) (default ${DEFAULTS.durationMs / 1000}s)
  --clients <n>       clients in all (default ${DEFAULTS.clients})
  --workers <n>       load processes holding the clients (default ${DEFAULTS.workers})
  --float-workers     let the load processes float over both cores instead of core ${LOAD_CORE}
  --json <file>       JSON output (default bench/results/soak-<date>.json, plus soak-latest.json)
  --report <file>     print the tables (text and Markdown) of a saved run again, and exit`;

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min)?$/.exec(text);
  if (!m) throw new Error(`--duration expects e.g. 180s, 10m or milliseconds, got "${text}"`);
  const scale = { ms: 1, s: 1000, m: 60_000, min: 60_000 }[m[2] ?? "ms"];
  const ms = Number(m[1]) * scale;
  if (ms < 5000) throw new Error("--duration must be at least 5s");
  return ms;
}

function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got "${text}"`);
  return n;
}

function parseArgs(argv) {
  const opts = { targets: ["tidewire"], params: { ...DEFAULTS }, floatWorkers: false, json: null, report: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--target") {
      const t = value();
      if (t === "both") opts.targets = ["socket.io", "tidewire"];
      else if (t === "tidewire" || t === "socket.io") opts.targets = [t];
      else throw new Error(`--target expects tidewire, socket.io or both, got "${t}"`);
    } else if (a === "--duration") opts.params.durationMs = parseDuration(value());
    else if (a === "--clients") opts.params.clients = positiveInt(value(), a);
    else if (a === "--workers") opts.params.workers = positiveInt(value(), a);
    else if (a === "--float-workers") opts.floatWorkers = true;
    else if (a === "--json") opts.json = value();
    else if (a === "--report") opts.report = value();
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  opts.params.workers = Math.min(opts.params.workers, opts.params.clients);
  return opts;
}

const log = (...args) => console.error(...args);
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

/**
 * One soak of one target in fresh processes.
 * @returns {Promise<object>} raw measurements (samples, worker reports, cores)
 */
async function soakTarget(target, params, floatWorkers) {
  const server = new PinnedChild(`soak server ${target}`, SERVER_CORE, "soak/server.js", [target, JSON.stringify(params)], {
    nodeArgs: ["--expose-gc"],
  });
  /** @type {PinnedChild[]} */
  const workers = [];
  try {
    const { port } = await server.ready;
    const workerCore = floatWorkers ? `${SERVER_CORE},${LOAD_CORE}` : LOAD_CORE;
    for (let i = 0; i < params.workers; i++) workers.push(new PinnedChild(`soak worker ${i}`, workerCore, "soak/worker.js", []));
    await Promise.all(workers.map((w) => w.ready));
    const all = (cmd, args = {}, timeoutMs = IPC_TIMEOUT_MS) => Promise.all(workers.map((w) => w.request(cmd, args, timeoutMs)));

    log(`${target}: connecting ${params.clients} clients over ${workers.length} load processes`);
    const net0 = sampleNet();
    // The worker's own bound (staggered starts, then SETUP_TIMEOUT_MS) answers first; this one is for a stuck worker.
    const setupMs = SETUP_TIMEOUT_MS + (1000 * params.clients) / SETUP_RATE + 15_000;
    await Promise.all(
      workers.map((w, index) => w.request("setup", { port, params, index, count: workers.length, timeoutMs: SETUP_TIMEOUT_MS }, setupMs)),
    );

    const samples = [];
    let t0 = 0;
    const sample = async (phase) => {
      const s = await server.request("sample", {}, IPC_TIMEOUT_MS);
      s.t = (performance.now() - t0) / 1000;
      s.phase = phase;
      s.serverWaitSec = runQueueWaitSec(server.proc.pid);
      s.workerWaitSec = workers.map((w) => runQueueWaitSec(w.proc.pid));
      const prev = samples.at(-1);
      if (prev) s.serverWaitPct = (100 * (s.serverWaitSec - prev.serverWaitSec)) / (s.t - prev.t);
      samples.push(s);
      return s;
    };
    t0 = performance.now();
    const first = await sample("start");
    log(`${target}: all connected; server heap after GC ${mb(first.heapUsed)} MB, RSS ${mb(first.rss)} MB; soaking ${params.durationMs / 1000} s`);
    const cores0 = sampleCores();
    const runnerCpu0 = process.cpuUsage();
    await all("start");
    const soakStart = performance.now();
    for (let next = params.sampleMs; next < params.durationMs; next += params.sampleMs) {
      await sleep(Math.max(0, soakStart + next - performance.now()));
      const [s, stats] = await Promise.all([sample("run"), all("stats")]);
      log(progressLine(target, s, stats));
    }
    await sleep(Math.max(0, soakStart + params.durationMs - performance.now()));
    const soakMs = performance.now() - soakStart;

    const settles = await all("settle", { timeoutMs: SETTLE_TIMEOUT_MS }, SETTLE_TIMEOUT_MS + 5000);
    const settled = settles.every((s) => s.settled);
    if (!settled) log(`${target}: NOT SETTLED: ${JSON.stringify(settles)}`);
    const last = await sample("end");
    const cores1 = sampleCores();
    const runnerCpu = process.cpuUsage(runnerCpu0);
    const net = netDelta(net0, sampleNet());
    const reports = await all("report");
    log(`${target}: end; server heap after GC ${mb(last.heapUsed)} MB, RSS ${mb(last.rss)} MB`);
    return {
      target,
      params,
      durationSec: soakMs / 1000,
      settled,
      samples,
      workers: reports,
      cores: { server: busyPercent(cores0, cores1, SERVER_CORE), load: busyPercent(cores0, cores1, LOAD_CORE) },
      runnerCpuPct: (100 * (runnerCpu.user + runnerCpu.system)) / 1e3 / (performance.now() - soakStart),
      floatWorkers,
      net,
    };
  } finally {
    // The server goes first so that TIME_WAIT lands on its side.
    await server.stop();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Incidents seen by the clients and the server (the first few, by time): what the counts do not say. */
function logIncidents(run) {
  const client = run.workers.flatMap((w) => w.incidents).map((i) => ({ ...i, side: "client" }));
  const server = (run.samples.at(-1).incidents ?? []).map((i) => ({ ...i, side: "server" }));
  const all = [...client, ...server].sort((a, b) => a.at.localeCompare(b.at));
  if (all.length === 0) return;
  // The first few of each kind and side, by time.
  const shown = [];
  for (const i of all) if (shown.filter((j) => j.side === i.side && j.kind === i.kind).length < 4) shown.push(i);
  log(`\n${run.target}: ${all.length} incidents kept, ${shown.length} shown (all in the JSON):`);
  for (const i of shown) {
    const { at, side, kind = "disconnect", reason, ...rest } = i;
    log(`  ${at.slice(11, 23)} ${side} ${kind}: ${reason} ${JSON.stringify(rest)}`);
  }
}

function progressLine(target, s, stats) {
  const sum = (f) => stats.reduce((n, w) => n + f(w), 0);
  const c = (f) => sum((w) => f(w.counters));
  const bad = c((k) => k.room.lost + k.room.duplicated + k.room.outOfOrder + k.room.misrouted + k.direct.lost + k.direct.duplicated + k.direct.outOfOrder);
  const ackBad = c((k) => k.acks.wrong + k.acks.duplicated + k.acks.missing);
  const cpu = stats.map((w) => w.cpuPct.toFixed(0)).join("/");
  const delay = Math.max(...stats.map((w) => w.loopDelayP99Ms));
  return (
    `  ${target} t=${s.t.toFixed(0)}s: ${sum((w) => w.connected)} connected, ${c((k) => k.connects)} connects, ` +
    `${c((k) => k.room.checked + k.direct.checked)} msgs checked (${bad} bad), ${c((k) => k.acks.ok)} acks ok (${ackBad} bad), ` +
    `${c((k) => k.unexpectedDisconnects)} unexpected disconnects, ${c((k) => k.connectErrors)} connect errors; ` +
    `server heap ${mb(s.heapUsed)} MB, RSS ${mb(s.rss)} MB, ${s.sockets} sockets, waited for its core ${s.serverWaitPct?.toFixed(0)}% of the time; ` +
    `workers CPU ${cpu}%, loop p99 ${delay.toFixed(0)} ms`
  );
}

function markdownHeading(results) {
  const p = results.params;
  return `Measured ${results.date.slice(0, 16).replace("T", " ")} UTC (${p.durationMs / 1000} s per target, ${p.clients} clients, ${p.workers} load processes, node ${results.node}, ${results.cpu}):`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.report) {
    // Summaries recomputed from the raw runs with the current definitions.
    const saved = JSON.parse(readFileSync(opts.report, "utf8"));
    const summaries = saved.runs.map(summarize);
    console.log(textTable(summaries));
    console.log(`\n${markdownHeading(saved)}\n\n${markdownTable(summaries)}`);
    for (const run of saved.runs) logIncidents(run);
    return summaries.every((s) => s.ok);
  }
  const distEntry = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
  if (opts.targets.includes("tidewire") && !existsSync(distEntry)) {
    throw new Error("dist/index.js is missing: run `npm run build` first (bench/soak/server.js imports tidewire from dist/)");
  }
  await pinSelf(LOAD_CORE);
  const planned = opts.targets.length * (opts.params.durationMs + SETUP_TIMEOUT_MS + SETTLE_TIMEOUT_MS) + WATCHDOG_SLACK_MS;
  const watchdog = setTimeout(() => {
    log(`soak: still running after ${Math.round(planned / 1000)} s: killing everything`);
    killAllChildren();
    process.exit(1);
  }, planned);
  watchdog.unref();

  const started = new Date();
  const runs = [];
  for (const target of opts.targets) runs.push(await soakTarget(target, opts.params, opts.floatWorkers));
  const summaries = runs.map(summarize);

  console.log(textTable(summaries));
  for (const run of runs) logIncidents(run);
  const results = { date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, params: opts.params, floatWorkers: opts.floatWorkers, summaries, runs };
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const out = opts.json ?? `${dir}soak-${started.toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(out, JSON.stringify(results, null, 2));
  writeFileSync(`${dir}soak-latest.json`, JSON.stringify(results, null, 2));
  writeFileSync(`${dir}soak-latest.md`, `${markdownHeading(results)}\n\n${markdownTable(summaries)}\n`);
  log(`\nresults: ${out} (and bench/results/soak-latest.json, soak-latest.md)`);
  return summaries.every((s) => s.ok);
}

main().then(
  (ok) => {
    killAllChildren();
    process.exitCode = ok ? 0 : 1;
  },
  (err) => {
    log(`soak: ${err?.message ?? err}`);
    killAllChildren();
    process.exitCode = 1;
  },
);
