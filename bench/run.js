// tidewire vs socket.io 4.8 benchmark runner (`npm run bench [-- options]`).
// Server under test pinned to core 0, load generators (and this runner) on
// core 1; targets alternate A B A B over the rounds of each scenario.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { PinnedChild, pinSelf, killAllChildren } from "./lib/children.js";
import { SCENARIOS, workerParams } from "./scenarios.js";
import { smokeCheck } from "./smoke.js";
import { summarizeScenario, textTable, markdownTable } from "./lib/report.js";
import { sampleCores, busyPercent } from "./lib/core-usage.js";
import { summarizeProfile } from "./lib/profile-summary.js";
import { PrivateRedis } from "./lib/redis-server.js";

const SERVER_CORE = 0;
const LOAD_CORE = 1;
/**
 * The private redis-server of multi-node scenarios shares the load
 * generator's core: every node under test keeps core 0 to itself and the
 * others; its CPU is measured apart and not counted as disturbance.
 */
const REDIS_CORE = LOAD_CORE;
/**
 * Servers under test. `raw` is the bare write-coalescing ws server
 * (bench/calibrate/raw-server.js, WebSocket only): a default run adds it to
 * the scenarios marked `bare` (its column reads "bare ws"); `--target raw`
 * runs it wherever it can, to measure the load generator's ceiling.
 */
const TARGETS = {
  "socket.io": { script: "server.js", args: (scenario) => ["socket.io", scenario], polling: true, redis: true },
  tidewire: { script: "server.js", args: (scenario) => ["tidewire", scenario], polling: true, redis: true },
  raw: { script: "calibrate/raw-server.js", args: (scenario) => [scenario], polling: false, redis: false },
  // Another tidewire build (env BENCH_BASE_DIST=<its dist/>): only when named with --target.
  base: { script: "server.js", args: (scenario) => ["base", scenario], polling: true, redis: true },
};

/** Whether a target can run a scenario (polling transport, Redis adapter). */
const supports = (target, scenario) => (!scenario.polling || TARGETS[target].polling) && (!scenario.redis || TARGETS[target].redis);
const ALL_TARGETS = Object.keys(TARGETS);
const DEFAULT_TARGETS = ["socket.io", "tidewire"];
/** Set when --target named the targets: then each runs wherever it can. */
let explicitTargets = false;
/**
 * Whether `target` runs `scenario` in this bench: it can, and the bare ws
 * server runs only where the scenario asks for it unless named with --target.
 */
const takesPart = (target, scenario) => supports(target, scenario) && (target !== "raw" || explicitTargets || scenario.bare === true);
/** A scenario's title in this mode (the scale scenario's says when quick mode shrank it). */
const titleOf = (scenario, mode) => (typeof scenario.title === "function" ? scenario.title(mode) : scenario.title);

const MODES = {
  full: { rounds: 3, warmupMs: 500, durationMs: 2000, retries: 2, budgetMs: 280_000, settle: true },
  // Quick mode skips the idle-memory settle (8 s a run): its idle RSS row stays empty.
  quick: { rounds: 1, warmupMs: 250, durationMs: 1000, retries: 0, budgetMs: 0, settle: false },
};

/**
 * A run during which other processes took more than this share (%) of the
 * server's or the load generator's core is repeated (up to `retries` times,
 * and only while every planned run still fits in `budgetMs`, estimated from
 * the attempts so far, scenario by scenario; an explicit --retries lifts the
 * budget); the least disturbed attempt is kept. Both targets get the same rule.
 */
const CONTENDED_PCT = 20;
/**
 * A run whose host probe (lib/host-probe.js, on the server's core before and
 * after the run) took this many times the fastest probe of the whole bench
 * met a slowed host: it is repeated under the same rule. On a quiet machine
 * the probe stays within 1.3x of its fastest; in slowed phases both servers'
 * throughput halved.
 */
const SLOW_HOST_FACTOR = 1.4;
/** Fastest host probe so far (ms), the reference for SLOW_HOST_FACTOR. */
let fastestProbeMs = Infinity;
/** The probe's process (lib/probe-child.js), on the server's core for the whole bench. @type {PinnedChild} */
let hostProber;
/** Load-generator core busy (%) above which a run may measure the load generator, not the server. */
const LOAD_SATURATED_PCT = 85;

const USAGE = `usage: npm run bench -- [options]
  --quick                 fewer rounds, shorter windows (under a minute)
  --scenario <name>       run only this scenario (repeatable, or comma-separated); --only is the same.
                          Without it every scenario runs but the opt-in ones (scale: --only scale)
  --target <name>         run only this target (repeatable): socket.io | tidewire, or raw (the bare
                          write-coalescing ws server, WebSocket only; by default it runs, as the
                          "bare ws" column, in the scenarios that compare with it: fanout-distinct, echo-ack),
                          or base (another tidewire build: BENCH_BASE_DIST=<its dist/ directory>, for A/B runs)
  --rounds <n>            rounds per scenario (default ${MODES.full.rounds}, quick ${MODES.quick.rounds})
  --retries <n>           repeat a run disturbed by other processes (>${CONTENDED_PCT}% of a core) or by a
                          slowed host (probe >${SLOW_HOST_FACTOR}x the fastest) up to n times, keeping the least disturbed (default ${MODES.full.retries}, quick ${MODES.quick.retries})
  --workers <n>           load-generator processes (all on core ${LOAD_CORE}) instead of each scenario's own
                          count (fanout always uses one)
  --duration <ms>         measured window of throughput scenarios (default ${MODES.full.durationMs}, quick ${MODES.quick.durationMs})
  --out <file>            JSON output (default bench/results/bench-<date>.json, plus latest.json)
  --profile <who>         CPU-profile the measured windows: server | load | all; files in
                          bench/results/profiles/, summarised at the end (by function, and by
                          module: tidewire's src/ files through the source maps, node, GC, writes)
  --cpu-prof              the same as --profile server
  --report <file.json>    print the tables (text and Markdown) of a saved run again, and exit
  --list                  list the scenarios
scenarios: ${SCENARIOS.map((s) => s.name + (s.optIn ? " (opt-in)" : "")).join(", ")}`;

function parseArgs(argv) {
  const opts = { mode: "full", scenarios: [], targets: [], rounds: null, retries: null, workers: null, durationMs: null, out: null, list: false, profile: null, report: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--quick") opts.mode = "quick";
    else if (a === "--scenario" || a === "--only") opts.scenarios.push(...value().split(","));
    else if (a === "--cpu-prof") opts.profile = "server";
    else if (a === "--target") opts.targets.push(...value().split(","));
    else if (a === "--rounds") opts.rounds = positiveInt(value(), a);
    else if (a === "--workers") opts.workers = positiveInt(value(), a);
    else if (a === "--retries") {
      opts.retries = Number(value());
      if (!Number.isInteger(opts.retries) || opts.retries < 0) throw new Error("--retries expects an integer >= 0");
    }
    else if (a === "--duration") opts.durationMs = positiveInt(value(), a);
    else if (a === "--out") opts.out = value();
    else if (a === "--list") opts.list = true;
    else if (a === "--report") opts.report = value();
    else if (a === "--profile") {
      opts.profile = value();
      if (!["server", "load", "all"].includes(opts.profile)) throw new Error(`--profile expects server, load or all, got "${opts.profile}"`);
    }
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  for (const name of opts.scenarios) {
    if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`unknown scenario "${name}"; one of: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  for (const t of opts.targets) {
    if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target "${t}"; one of: ${ALL_TARGETS.join(", ")}`);
  }
  return opts;
}

function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got "${text}"`);
  return n;
}

const log = (...args) => console.error(...args);

/**
 * @param {string} target
 * @param {string} scenario
 * @param {string[]} [extraArgs] appended to the server's arguments (a multi-node scenario's Redis port)
 * @param {string} [label] suffix of the process name (the node)
 */
function startServer(target, scenario, extraArgs = [], label = "") {
  const { script, args } = TARGETS[target];
  return new PinnedChild(`server ${target}/${scenario}${label}`, SERVER_CORE, script, [...args(scenario), ...extraArgs], { nodeArgs: ["--expose-gc"] });
}

/** How long the nodes of a multi-node run may take to all subscribe to Redis. */
const NODES_READY_TIMEOUT_MS = 10000;

/** Waits until `node` sees `count` nodes subscribed to the namespace's Redis channels. */
async function waitForNodes(node, count) {
  const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
  for (;;) {
    const { nodes } = await node.request("stats", {}, NODES_READY_TIMEOUT_MS);
    if (nodes === count) return;
    if (Date.now() > deadline) throw new Error(`only ${nodes} of ${count} nodes subscribed to Redis within ${NODES_READY_TIMEOUT_MS} ms`);
    await sleep(20);
  }
}

/**
 * Sums the nodes' window measurements into one server result: CPU summed,
 * wall time the longest; per-node CPU kept in `nodes`.
 */
function combineNodes(results) {
  if (results.length === 1) return results[0];
  const sum = (key) => results.reduce((acc, r) => acc + r[key], 0);
  return {
    cpuUser: sum("cpuUser"),
    cpuSystem: sum("cpuSystem"),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    baseline: null,
    after: null,
    profile: null,
    profiles: results.map((r) => r.profile).filter(Boolean),
    nodes: results.map((r) => ({ cpu: r.cpuUser + r.cpuSystem, elapsedMs: r.elapsedMs })),
  };
}

/** Starts a target's server and runs the official-client smoke check against it. */
async function smoke(target) {
  const server = startServer(target, "smoke");
  try {
    const { port } = await server.ready;
    await smokeCheck(port, TARGETS[target].polling ? ["polling+upgrade", "websocket"] : ["websocket"]);
  } finally {
    await server.stop();
  }
}

/**
 * runOnce, then the host probe again once every process of the run has
 * exited (a server may still be working off a backlog when the load stops).
 */
async function runProbed(scenario, target, round, mode, attempt = 1) {
  const run =
    scenario.kind === "scale" ? await runScale(scenario, target, round, mode, attempt) : await runOnce(scenario, target, round, mode, attempt);
  if (run.ok) {
    run.probeMs.push(await hostProber.request("probe"));
    fastestProbeMs = Math.min(fastestProbeMs, ...run.probeMs);
  }
  return run;
}

/**
 * One measured run of one scenario against one target, in fresh processes.
 * @returns {Promise<object>} the raw result (ok false with the error on failure)
 */
async function runOnce(scenario, target, round, mode, attempt = 1) {
  const base = { scenario: scenario.name, target, round, kind: scenario.kind };
  const profilePath = (who) => profileFile(mode, scenario, target, round, attempt, who);
  const nodeCount = scenario.servers ?? 1;
  /** @type {PinnedChild[]} */
  const servers = [];
  const workers = [];
  let redis = null;
  try {
    if (scenario.redis) redis = await PrivateRedis.start(REDIS_CORE);
    for (let k = 0; k < nodeCount; k++) {
      const label = nodeCount > 1 ? ` node ${"ABCDEFGH"[k] ?? k}` : "";
      servers.push(startServer(target, scenario.name, redis ? [String(redis.port)] : [], label));
    }
    const ports = (await Promise.all(servers.map((s) => s.ready))).map((r) => r.port);
    const port = ports[0];
    if (redis) await waitForNodes(servers[0], nodeCount);
    const nodeProfile = (k) => (nodeCount > 1 ? profilePath("server")?.replace(".cpuprofile", `-node${k}.cpuprofile`) : profilePath("server"));
    const markServers = (args = {}, timeoutMs) =>
      Promise.all(servers.map((s, k) => s.request("mark", { ...args, profile: nodeProfile(k) }, timeoutMs)));
    const endServers = async (args, timeoutMs) => combineNodes(await Promise.all(servers.map((s) => s.request("end", args, timeoutMs))));
    const params = scenario.params(mode);
    const workerCount = Math.min(mode.workers ?? scenario.workers, scenario.maxWorkers ?? Infinity);
    for (let i = 0; i < workerCount; i++) workers.push(new PinnedChild(`load ${i}`, LOAD_CORE, "load/worker.js", []));
    await Promise.all(workers.map((w) => w.ready));
    const all = (cmd, args, timeoutMs) => Promise.all(workers.map((w) => w.request(cmd, args, timeoutMs)));
    const markWorkers = () =>
      Promise.all(workers.map((w, i) => w.request("mark", { profile: profilePath("load")?.replace(".cpuprofile", `${i}.cpuprofile`) })));
    await Promise.all(
      workers.map((w, index) =>
        w.request("setup", { scenario: scenario.name, port, ports, params: workerParams(params, index, workers.length), index, count: workers.length }, 60000),
      ),
    );
    const gc = scenario.kind === "memory";
    let windowMs;
    let loads;
    let srv;
    let coresBefore;
    let coresAfter;
    let redisCpu0 = NaN;
    let redisCpu = NaN;
    const probeBefore = await hostProber.request("probe");
    if (scenario.kind === "throughput") {
      await all("start");
      await sleep(mode.warmupMs);
      await markServers();
      await markWorkers();
      coresBefore = sampleCores();
      if (redis) redisCpu0 = await redis.cpuSeconds();
      await sleep(scenarioDuration(scenario, mode));
      if (redis) redisCpu = (await redis.cpuSeconds()) - redisCpu0;
      coresAfter = sampleCores();
      loads = await all("end");
      srv = await endServers();
      await all("stop");
      windowMs = Math.max(...loads.map((l) => l.elapsedMs));
    } else {
      await markServers({ gc }, 30000);
      await markWorkers();
      coresBefore = sampleCores();
      const starts = await all("start", {}, (params.timeoutMs ?? 30000) + 5000);
      coresAfter = sampleCores();
      loads = await all("end");
      const settle = mode.settle ? (scenario.settleMs ?? 0) : 0;
      srv = await endServers({ gc, settle }, 30000 + settle);
      windowMs = Math.max(...starts.map((s) => s.elapsedMs));
    }
    const sum = (key) => loads.reduce((acc, l) => acc + l[key], 0);
    return {
      ...base,
      ok: true,
      // host probe (ms) on the server's core before the run (runProbed adds the one after)
      probeMs: [probeBefore],
      units: sum("units"),
      bytes: sum("bytes"),
      deliveries: sum("deliveries"),
      errors: sum("errors"),
      errorSamples: loads.flatMap((l) => l.errorSamples).slice(0, 5),
      windowMs,
      server: srv,
      profiles: [srv.profile, ...(srv.profiles ?? []), ...loads.map((l) => l.profile)].filter(Boolean),
      // the private redis-server of a multi-node run (on the load generator's core): CPU seconds of the window
      redis: redis ? { cpu: redisCpu } : undefined,
      load: {
        workers: loads.length,
        cpu: sum("cpuUser") + sum("cpuSystem"),
        loopDelayP99Ms: Math.max(...loads.map((l) => l.loopDelayP99Ms)),
      },
      // Busy % of each pinned core over the window, all processes included.
      cores: { server: busyPercent(coresBefore, coresAfter, SERVER_CORE), load: busyPercent(coresBefore, coresAfter, LOAD_CORE) },
    };
  } catch (err) {
    return { ...base, ok: false, error: String(err?.message ?? err) };
  } finally {
    // The server goes first: its side of every connection closes first, so
    // TIME_WAIT lands on the server's port and not on the load generator's
    // ephemeral ports (which the next runs need).
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(workers.map((w) => w.stop()));
    if (redis) await redis.stop();
  }
}

/**
 * Where a run's CPU profile goes (`who`: server or load, `phase` for scale),
 * or null when not profiling it. A repeated attempt gets a file of its own
 * (`-r1a2-`): the summaries read the profiles of the attempts kept.
 */
function profileFile(mode, scenario, target, round, attempt, who, phase = "") {
  if (mode.profile !== who && mode.profile !== "all") return null;
  const dir = fileURLToPath(new URL("./results/profiles/", import.meta.url));
  return `${dir}${scenario.name}-${target}-r${round}${attempt > 1 ? `a${attempt}` : ""}-${who}${phase ? `-${phase}` : ""}.cpuprofile`;
}

/** Nearest-rank quantile of a sorted list. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Share (%) of the server's or load generator's core that other processes took during a window. */
function othersPct(server, loadCpu, windowMs, cores) {
  const serverPct = (100 * (server.cpuUser + server.cpuSystem)) / (server.elapsedMs / 1000);
  const loadPct = (100 * loadCpu) / (windowMs / 1000);
  const others = Math.max(cores.server - serverPct, cores.load - loadPct);
  return Number.isFinite(others) ? others : 0;
}

/**
 * One run of the scale scenario against one target: a server holding many
 * idle connections from several load processes. Phases, in order:
 *   connect  the storm (connect rate, server CPU per connection), then heap and
 *            RSS after forced GC, right away and once idle (as idle-memory)
 *   idle     a window of several pingIntervals: server CPU per ping, counted
 *            by the clients
 *   one broadcast to all, several times: each client's latency from the
 *            payload's timestamp, and the server's CPU of the emit and flush
 * The run's `server`, `load`, `windowMs` and `cores` are the heartbeat
 * window's (the common metrics and the disturbance check read them; the
 * connect storm's disturbance counts too).
 */
async function runScale(scenario, target, round, mode, attempt = 1) {
  const base = { scenario: scenario.name, target, round, kind: scenario.kind };
  const params = scenario.params(mode);
  const profile = (who, phase) => profileFile(mode, scenario, target, round, attempt, who, phase);
  /** @type {PinnedChild | null} */
  let server = null;
  const workers = [];
  try {
    const { script, args } = TARGETS[target];
    server = new PinnedChild(`server ${target}/${scenario.name}`, SERVER_CORE, script, args(scenario.name), { nodeArgs: ["--expose-gc"], raiseFileLimit: true });
    const { port } = await server.ready;
    const { openFileLimit } = await server.request("stats");
    const needed = params.clients + params.warmup + 100;
    if (Number.isFinite(openFileLimit) && openFileLimit < needed) {
      throw new Error(`the server process may open ${openFileLimit} files, ${params.clients} connections need about ${needed}: raise the hard limit (ulimit -Hn)`);
    }
    const workerCount = mode.workers ?? scenario.workers;
    for (let i = 0; i < workerCount; i++) workers.push(new PinnedChild(`load ${i}`, LOAD_CORE, "load/worker.js", [], { raiseFileLimit: true }));
    await Promise.all(workers.map((w) => w.ready));
    const all = (cmd, args, timeoutMs) => Promise.all(workers.map((w) => w.request(cmd, args, timeoutMs)));
    const markWorkers = (phase) => Promise.all(workers.map((w, i) => w.request("mark", { profile: profile("load", phase)?.replace(".cpuprofile", `${i}.cpuprofile`) })));
    await Promise.all(
      workers.map((w, index) =>
        w.request("setup", { scenario: scenario.name, port, params: workerParams(params, index, workers.length), index, count: workers.length }, 60000),
      ),
    );
    const sum = (list, key) => list.reduce((acc, l) => acc + l[key], 0);
    const loadCpu = (list) => sum(list, "cpuUser") + sum(list, "cpuSystem");
    const probeBefore = await hostProber.request("probe");

    // connect storm, then memory after forced GC
    await server.request("mark", { gc: true, profile: profile("server", "connect") }, 30000);
    await markWorkers("connect");
    const storm0 = sampleCores();
    const starts = await all("start", {}, params.timeoutMs + 5000);
    const storm1 = sampleCores();
    const stormLoads = await all("end");
    const settle = mode.settle ? (scenario.settleMs ?? 0) : 0;
    const stormServer = await server.request("end", { gc: true, settle }, 30000 + settle);
    const stormMs = Math.max(...starts.map((s) => s.elapsedMs));
    const connections = sum(stormLoads, "units");
    const stormCores = { server: busyPercent(storm0, storm1, SERVER_CORE), load: busyPercent(storm0, storm1, LOAD_CORE) };

    // idle connections: heartbeats only
    await server.request("mark", { profile: profile("server", "heartbeat") });
    await markWorkers("heartbeat");
    const idle0 = sampleCores();
    await sleep(params.heartbeatIntervals * params.pingIntervalMs);
    const idle1 = sampleCores();
    const idleLoads = await all("end");
    const idleServer = await server.request("end");
    const idleMs = Math.max(...idleLoads.map((l) => l.elapsedMs));
    const pings = sum(idleLoads, "deliveries");

    // single broadcasts to every connection
    await server.request("mark", { profile: profile("server", "broadcast") });
    await markWorkers("broadcast");
    const broadcasts = [];
    for (let seq = 0; seq < params.broadcasts; seq++) {
      const arrivals = all("call", { name: "awaitBroadcast", args: { seq, timeoutMs: 30000 } }, 35000);
      const emitted = await server.request("broadcast", { seq });
      const latencies = (await arrivals).flat().sort((a, b) => a - b);
      broadcasts.push({ ...emitted, received: latencies.length, p50Us: quantile(latencies, 0.5), p99Us: quantile(latencies, 0.99), maxUs: latencies.at(-1) });
      await sleep(params.broadcastGapMs);
    }
    const broadcastLoads = await all("end");
    const broadcastServer = await server.request("end");
    const broadcastMs = Math.max(...broadcastLoads.map((l) => l.elapsedMs));

    const phases = [stormLoads, idleLoads, broadcastLoads];
    return {
      ...base,
      ok: true,
      probeMs: [probeBefore],
      units: connections,
      bytes: 0,
      deliveries: pings,
      errors: phases.reduce((acc, list) => acc + sum(list, "errors"), 0),
      errorSamples: phases.flatMap((list) => list.flatMap((l) => l.errorSamples)).slice(0, 5),
      windowMs: idleMs,
      server: idleServer,
      load: { workers: idleLoads.length, cpu: loadCpu(idleLoads), loopDelayP99Ms: Math.max(...idleLoads.map((l) => l.loopDelayP99Ms)) },
      cores: { server: busyPercent(idle0, idle1, SERVER_CORE), load: busyPercent(idle0, idle1, LOAD_CORE) },
      scale: {
        connections,
        stormMs,
        stormServer,
        stormCores,
        stormLoadCpu: loadCpu(stormLoads),
        stormOthersPct: othersPct(stormServer, loadCpu(stormLoads), stormMs, stormCores),
        pings,
        heartbeatMs: idleMs,
        broadcasts,
        broadcastServer,
        // the load processes' CPU over the broadcast phase (all broadcasts and the gaps)
        broadcastLoadCpu: loadCpu(broadcastLoads),
        broadcastMs,
      },
      profiles: [stormServer, idleServer, broadcastServer].map((r) => r.profile).concat(phases.flatMap((list) => list.map((l) => l.profile))).filter(Boolean),
    };
  } catch (err) {
    return { ...base, ok: false, error: String(err?.message ?? err) };
  } finally {
    // the server first: TIME_WAIT on its side, the load processes' ports stay free
    if (server) await server.stop();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

function markdownHeading(results) {
  const { mode } = results;
  const rounds = `${mode.rounds} round${mode.rounds === 1 ? "" : "s"}`;
  return `Measured ${results.date.slice(0, 16).replace("T", " ")} UTC (${mode.name} mode, ${rounds}, ${mode.durationMs} ms windows, node ${results.node}, ${results.cpu}):`;
}

/**
 * Summaries of a saved results file, recomputed from its raw runs with the
 * current metric definitions.
 */
function rebuildReport(saved) {
  const scenarios = saved.scenarios.map((s) => {
    const def = SCENARIOS.find((d) => d.name === s.name);
    if (!def) throw new Error(`unknown scenario "${s.name}" in the saved results`);
    return { ...s, metrics: def.metrics, ...summarizeScenario(def, s.runs, saved.targets) };
  });
  return { ...saved, scenarios };
}

/**
 * What a profile's time is divided by in its summary: the run's units (one
 * delivery, ack, connection…), or for the scale scenario's phases the
 * connections, the pings, or the broadcasts.
 * @returns {{ units?: number, unitLabel?: string }}
 */
function profileUnits(scenario, run, file) {
  if (!run.ok) return {};
  if (run.scale) {
    if (file.includes("-connect")) return { units: run.scale.connections, unitLabel: "connection" };
    if (file.includes("-heartbeat")) return { units: run.scale.pings, unitLabel: "ping" };
    if (file.includes("-broadcast")) return { units: run.scale.broadcasts.length, unitLabel: "broadcast to all" };
    return {};
  }
  const label = { "binary-echo": "64 KiB echo" }[scenario.name] ?? scenario.metrics.find((m) => m.key === "cpuPerUnit")?.label.split("/").pop() ?? "unit";
  return run.units > 0 ? { units: run.units, unitLabel: label } : {};
}

/** CPU seconds of a multi-node run's private redis-server in the window (0 without one). */
function redisCpu(run) {
  const cpu = run.redis?.cpu;
  return Number.isFinite(cpu) ? cpu : 0;
}

/**
 * The measured window of a throughput run: the scenario's own (shorter)
 * window unless --duration was given.
 */
function scenarioDuration(scenario, mode) {
  if (mode.durationExplicit || scenario.durationMs === undefined) return mode.durationMs;
  return Math.min(scenario.durationMs, mode.durationMs);
}

/** Largest share (%) of the server's or load generator's core that other processes took during a run. */
function contention(run) {
  if (!run.ok) return 0;
  const others = othersPct(run.server, run.load.cpu + redisCpu(run), run.windowMs, run.cores);
  // a scale run's connect storm counts as much as its heartbeat window
  return Math.max(others, run.scale?.stormOthersPct ?? 0);
}

/** How many times slower than the fastest probe the host ran around this run (1 when unknown). */
function hostSlowdown(run) {
  if (!run.ok || !run.probeMs || !Number.isFinite(fastestProbeMs)) return 1;
  return Math.max(...run.probeMs) / fastestProbeMs;
}

/** Above 1: the run was disturbed (other processes, or a slowed host); lower is better. */
function disturbance(run) {
  // A failed run is retried like a disturbed one, and never kept over one that measured something.
  if (!run.ok) return Infinity;
  return Math.max(contention(run) / CONTENDED_PCT, (hostSlowdown(run) - 1) / (SLOW_HOST_FACTOR - 1));
}

/** A metric's value in a progress line, or "–". */
function shortValue(scenario, key, run) {
  const m = scenario.metrics.find((x) => x.key === key);
  try {
    const v = m.value(run);
    return Number.isFinite(v) ? `${v.toFixed(m.format === "int" ? 0 : m.format === "1" ? 1 : 2)} ${m.label}` : `– ${m.label}`;
  } catch {
    return `– ${m.label}`;
  }
}

function progressLine(scenario, run, attempt = `round ${run.round}`) {
  if (!run.ok) return `  ${run.target.padEnd(9)} ${attempt}: FAILED ${run.error}`;
  const main =
    scenario.kind === "scale"
      ? ["connectRate", "heapPerConn", "pingCpu", "bcastP99", "bcastCpu"].map((k) => shortValue(scenario, k, run)).join(", ")
      : shortValue(scenario, scenario.metrics[0].key, run);
  const cpu = run.server.cpuUser + run.server.cpuSystem;
  const loadPct = (100 * run.load.cpu) / (run.windowMs / 1000);
  const serverPct = (100 * cpu) / (run.server.elapsedMs / 1000);
  const others = contention(run);
  const disturbed = others > 10 ? `, OTHER PROCESSES took ~${others.toFixed(0)}% of a core` : "";
  const errors = run.errors ? `, ${run.errors} client errors (${run.errorSamples[0]})` : "";
  const saturated = loadPct > LOAD_SATURATED_PCT ? ", LOAD GENERATOR NEAR ITS LIMIT" : "";
  const slowdown = hostSlowdown(run);
  const slowHost = slowdown > SLOW_HOST_FACTOR ? `, HOST SLOWED (probe ${slowdown.toFixed(2)}x the fastest)` : "";
  return `  ${run.target.padEnd(9)} ${attempt}: ${main}, server CPU ${cpu.toFixed(3)} s, server core ${serverPct.toFixed(0)}% busy, load-gen ${loadPct.toFixed(0)}%${saturated}${disturbed}${slowHost}${errors}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(16)} ${titleOf(s, MODES.full)}${s.optIn ? "  [opt-in: --only " + s.name + "]" : ""}`);
    return;
  }
  if (opts.report) {
    const results = rebuildReport(JSON.parse(readFileSync(opts.report, "utf8")));
    console.log(textTable(results));
    console.log(`\n${markdownHeading(results)}\n\n${markdownTable(results)}`);
    return;
  }
  const mode = { ...MODES[opts.mode], name: opts.mode };
  if (opts.rounds) mode.rounds = opts.rounds;
  if (opts.retries !== null) {
    mode.retries = opts.retries;
    mode.retriesExplicit = true;
    mode.budgetMs = Infinity;
  }
  if (opts.durationMs) {
    mode.durationMs = opts.durationMs;
    mode.durationExplicit = true;
  }
  mode.profile = opts.profile;
  mode.workers = opts.workers;
  await pinSelf(LOAD_CORE);
  hostProber = new PinnedChild("host probe", SERVER_CORE, "lib/probe-child.js", []);
  await hostProber.ready;

  const selected = opts.scenarios.length ? SCENARIOS.filter((s) => opts.scenarios.includes(s.name)) : SCENARIOS.filter((s) => !s.optIn);
  explicitTargets = opts.targets.length > 0;
  let targets = explicitTargets
    ? ALL_TARGETS.filter((t) => opts.targets.includes(t))
    : [...DEFAULT_TARGETS, ...(selected.some((s) => s.bare) ? ["raw"] : [])];
  const distEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  if (targets.includes("tidewire") && !existsSync(distEntry)) {
    log("tidewire: dist/index.js is missing (run `npm run build`); benchmarking socket.io only");
    targets = targets.filter((t) => t !== "tidewire");
  }
  if (targets.includes("base") && !process.env.BENCH_BASE_DIST) {
    throw new Error("--target base needs BENCH_BASE_DIST, the dist/ directory of another tidewire build");
  }
  for (const target of [...targets]) {
    try {
      await smoke(target);
      log(`smoke check ${target}: ok (official client, JSON and binary acks)`);
    } catch (err) {
      log(`smoke check ${target}: FAILED: ${err?.message ?? err}`);
      targets = targets.filter((t) => t !== target);
    }
  }
  if (targets.length === 0) throw new Error("no target passed the smoke check");

  const started = new Date();
  const scenarios = [];
  let plannedDone = 0;
  /** Wall time of every attempt so far, per scenario. @type {Map<string, number[]>} */
  const attemptMs = new Map();
  const timed = async (scenario, attempt) => {
    const t0 = Date.now();
    const run = await attempt();
    run.wallMs = Date.now() - t0;
    const list = attemptMs.get(scenario.name) ?? [];
    list.push(run.wallMs);
    attemptMs.set(scenario.name, list);
    return run;
  };
  // A scenario not run yet is expected to take the mean attempt so far plus its settle time.
  const expectedMs = (scenario) => {
    const own = attemptMs.get(scenario.name);
    if (own) return own.reduce((a, b) => a + b, 0) / own.length;
    const all = [...attemptMs.values()].flat();
    return all.reduce((a, b) => a + b, 0) / all.length + (scenario.settleMs ?? 0);
  };
  /** Whether one more attempt of `scenario` still lets every planned run finish within the budget. */
  const retryFits = (scenario) => {
    let remaining = expectedMs(scenario);
    let index = 0;
    for (const s of selected) {
      for (const t of targets) {
        if (!takesPart(t, s)) continue;
        for (let round = 1; round <= mode.rounds; round++) if (index++ >= plannedDone) remaining += expectedMs(s);
      }
    }
    return Date.now() - started.getTime() + remaining < mode.budgetMs;
  };
  for (const scenario of selected) {
    const title = titleOf(scenario, mode);
    log(`\n${title}`);
    const runs = [];
    for (let round = 1; round <= mode.rounds; round++) {
      for (const target of targets) {
        if (!takesPart(target, scenario)) continue;
        let run = await timed(scenario, () => runProbed(scenario, target, round, mode));
        plannedDone++;
        log(progressLine(scenario, run));
        const retries = mode.retriesExplicit ? mode.retries : Math.min(mode.retries, scenario.retries ?? Infinity);
        for (let retry = 1; retry <= retries && disturbance(run) > 1 && retryFits(scenario); retry++) {
          const again = await timed(scenario, () => runProbed(scenario, target, round, mode, retry + 1));
          log(progressLine(scenario, again, `retry ${retry}`));
          again.attempts = (run.attempts ?? 1) + 1;
          if (disturbance(again) < disturbance(run)) run = again;
          else run.attempts = again.attempts;
        }
        runs.push(run);
      }
    }
    const { summary, ratios, bareRatios } = summarizeScenario(scenario, runs, targets);
    scenarios.push({ name: scenario.name, title, kind: scenario.kind, params: scenario.params(mode), metrics: scenario.metrics, runs, summary, ratios, bareRatios });
  }

  const results = {
    date: started.toISOString(),
    durationSec: (Date.now() - started.getTime()) / 1000,
    mode,
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: { server: SERVER_CORE, load: LOAD_CORE },
    targets,
    scenarios,
  };
  console.log(textTable(results));
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const out = opts.out ?? `${dir}bench-${started.toISOString().replace(/[:.]/g, "-")}.json`;
  const json = JSON.stringify(results, null, 2);
  writeFileSync(out, json);
  writeFileSync(`${dir}latest.json`, json);
  writeFileSync(`${dir}latest.md`, `${markdownHeading(results)}\n\n${markdownTable(results)}\n`);
  // One summary per scenario, target and side (server, or all load processes together; and
  // the scale scenario's phase): the rounds summed.
  for (const s of scenarios) {
    const def = SCENARIOS.find((d) => d.name === s.name);
    /** @type {Map<string, { files: string[], units: number, unitLabel?: string, runs: Set<object> }>} */
    const groups = new Map();
    for (const run of s.runs) {
      for (const file of run.profiles ?? []) {
        // …-r2a3-load-heartbeat1.cpuprofile → …-load-heartbeat.cpuprofile
        const key = file.replace(/-r\d+(a\d+)?-/, "-").replace(/(-load(-[a-z]+)?)\d+\.cpuprofile$/, "$1.cpuprofile");
        const { units = 0, unitLabel } = profileUnits(def, run, file);
        const group = groups.get(key) ?? { files: [], units: 0, unitLabel, runs: new Set() };
        group.files.push(file);
        // a run's units count once per group, however many load processes it profiled
        if (!group.runs.has(run)) group.units += units;
        group.runs.add(run);
        groups.set(key, group);
      }
    }
    for (const { files, units, unitLabel } of groups.values()) console.log(`\n${summarizeProfile(files, { top: 20, units, unitLabel })}`);
  }
  log(`\nresults: ${out} (and bench/results/latest.json, latest.md); ${results.durationSec.toFixed(0)} s`);
}

main().then(
  () => {
    killAllChildren();
  },
  (err) => {
    log(`bench: ${err?.message ?? err}`);
    killAllChildren();
    process.exitCode = 1;
  },
);
