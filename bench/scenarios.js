// The benchmark scenarios: what each runs (the client side lives in
// bench/load/scenarios/<name>.js, the server side in bench/server.js), its
// parameters in full and quick mode, and how a run's raw counters become the
// reported metrics, with the targets as ratios tidewire / socket.io.
//
// Kinds:
//   throughput  load starts, a warm-up passes, then a window of fixed length
//               is measured (units counted by the load workers, CPU by the server)
//   storm       the window is one bounded piece of work (N connections),
//               measured from its start to its last unit
//   memory      a storm whose window also records server heap and RSS after
//               forced GC before and after
//
//   scale       many idle connections on one server, several measured phases
//               (connect storm, idle memory, heartbeats, single broadcasts):
//               run by bench/run.js's runScale, not the generic runner
//
// `polling: true` marks scenarios that need the polling transport (the `raw`
// server skips them). `bare: true` adds the `raw` target (bench/calibrate/
// raw-server.js, the bare write-coalescing ws server) to a default run of the
// scenario, as a third column with its own ratio to socket.io. `optIn: true`
// leaves a scenario out of the default run: it runs only when named
// (`--scenario scale`, or `--only scale`).
//
// Multi-node scenarios: `servers: N` starts N server processes of the target
// (all on the server core; their CPU is summed), `redis: true` gives each run
// a private redis-server that the nodes share through their target's Redis
// adapter (the `raw` server has none and skips them). The load workers get
// every node's port (ctx.ports). `durationMs` shortens the measured window
// (unless --duration is given).
//
// Metrics: `value(run)` (NaN when not measured), `better` and `target` (a ratio
// tidewire / socket.io) for the verdict, `format`; `quick: false` marks one
// that quick mode does not measure (the report says so instead of a verdict).
//
// Adding a scenario: a definition here, a load module exporting setup/start
// (and optionally stop), and its handlers in bench/server.js SCENARIO_HANDLERS.

/** CPU seconds of a multi-node run's private redis-server in the window (0 without one). */
const redisCpu = (r) => (Number.isFinite(r.redis?.cpu) ? r.redis.cpu : 0);
/** Server CPU seconds (user + system) of a run's window (summed over the nodes of a multi-node run). */
const serverCpu = (r) => r.server.cpuUser + r.server.cpuSystem;
/** Units per second over the load window (throughput kinds) or the storm (storm kinds). */
const rate = (r) => r.units / (r.windowMs / 1000);
/**
 * Server CPU seconds attributable to the units counted. In throughput runs the
 * server's window brackets the load workers' (IPC round trips on each side),
 * so its CPU is rescaled to the load window; a storm's CPU is taken whole.
 */
const windowCpu = (r) => (r.kind === "throughput" ? (serverCpu(r) * r.windowMs) / r.server.elapsedMs : serverCpu(r));
/** Server CPU seconds per unit. */
const cpuPerUnit = (r) => windowCpu(r) / r.units;

function throughputMetrics(units, unit, { throughput, cpu }) {
  return [
    { key: "throughput", label: `${units}/s`, value: rate, better: "higher", target: throughput, format: "int" },
    { key: "cpuPerUnit", label: `server CPU µs/${unit}`, value: (r) => cpuPerUnit(r) * 1e6, better: "lower", target: cpu, format: "2" },
  ];
}

/** Metrics every scenario reports after its own. */
export const COMMON_METRICS = [
  { key: "serverCpuSec", label: "server CPU s (window)", value: serverCpu, format: "3" },
  { key: "serverCpuPct", label: "server core busy %", value: (r) => (100 * serverCpu(r)) / (r.server.elapsedMs / 1000), format: "int" },
  { key: "loadCpuPct", label: "load-gen core busy %", value: (r) => (100 * r.load.cpu) / (r.windowMs / 1000), format: "int" },
  { key: "loadLoopDelay", label: "load-gen event-loop delay p99 ms", value: (r) => r.load.loopDelayP99Ms, format: "1" },
  {
    key: "othersPct",
    label: "other processes on server core %",
    value: (r) => Math.max(0, r.cores.server - (100 * serverCpu(r)) / (r.server.elapsedMs / 1000)),
    format: "int",
  },
  {
    key: "othersLoadPct",
    label: "other processes on load-gen core %",
    // the runner shares this core but sleeps through the window
    // (and so does a multi-node run's redis-server, measured apart)
    value: (r) => Math.max(0, r.cores.load - (100 * (r.load.cpu + redisCpu(r))) / (r.windowMs / 1000)),
    format: "int",
  },
];

/** Median of the finite values of a list (NaN when none). */
function medianOf(values) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A scale run's figure per single broadcast, the median over its broadcasts. */
const perBroadcast = (r, key) => medianOf((r.scale?.broadcasts ?? []).map((b) => b[key]));

/** Idle connections of the scale scenario: 18,000 in full mode, fewer in quick mode (it says so). */
const SCALE_CLIENTS = { full: 18000, quick: 3000 };

/** Splits a client count over `count` workers (the first ones take the remainder). */
function share(total, index, count) {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

export const SCENARIOS = [
  {
    name: "fanout",
    title: "fanout: 1000 websocket clients in one room, small JSON broadcasts",
    kind: "throughput",
    workers: 1,
    // completion of a burst is counted over all clients in one process
    maxWorkers: 1,
    params: () => ({ clients: 1000, concurrency: 100, burst: 10, window: 8 }),
    metrics: throughputMetrics("deliveries", "delivery", { throughput: 5, cpu: 0.2 }),
  },
  {
    name: "fanout-distinct",
    title: "fanout, distinct payloads: 1000 websocket clients in one room, 500 broadcasts of a fresh object, 10 per turn",
    kind: "storm",
    bare: true,
    workers: 1,
    // completion of the blast is counted over all clients in one process
    maxWorkers: 1,
    params: () => ({ clients: 1000, concurrency: 100, broadcasts: 500, perTurn: 10, timeoutMs: 60000 }),
    metrics: throughputMetrics("deliveries", "delivery", { throughput: 8, cpu: 0.12 }),
  },
  {
    name: "echo-ack",
    title: "echo-ack: 200 websocket clients x 10 emits in flight, server acks",
    kind: "throughput",
    bare: true,
    workers: 1,
    params: () => ({ clients: 200, concurrency: 100, inFlight: 10 }),
    metrics: throughputMetrics("acks", "ack", { throughput: 2.5, cpu: 0.4 }),
  },
  {
    name: "connect-ws",
    title: "connect storm, websocket: 2000 clients",
    kind: "storm",
    workers: 1,
    params: () => ({ clients: 2000, concurrency: 50, timeoutMs: 30000 }),
    metrics: throughputMetrics("connections", "connection", { throughput: 1.9, cpu: 0.5 }),
  },
  {
    name: "connect-polling",
    title: "connect storm, polling + upgrade: 500 clients",
    kind: "storm",
    polling: true,
    workers: 1,
    params: () => ({ clients: 500, concurrency: 200, timeoutMs: 30000 }),
    metrics: throughputMetrics("connections", "connection", { throughput: 1.5, cpu: 0.65 }),
  },
  {
    name: "idle-memory",
    title: "idle memory: 5000 websocket connections",
    kind: "memory",
    workers: 1,
    params: () => ({ clients: 5000, warmup: 50, concurrency: 50, timeoutMs: 60000 }),
    // Idle figures are taken once V8 has released the young-generation capacity the storm grew
    // (its memory reducer does that a few seconds after allocation stops), at most 8 s later:
    // 8 s and 15 s gave the same idle RSS for both targets (2026-11-26).
    settleMs: 8000,
    metrics: [
      {
        key: "heapPerConn",
        label: "heap KiB/connection",
        value: (r) => ((r.server.afterSettled ?? r.server.after).heapUsed - r.server.baseline.heapUsed) / r.units / 1024,
        better: "lower",
        target: 0.3,
        format: "2",
      },
      {
        key: "rssPerConn",
        label: "RSS KiB/connection (idle)",
        value: (r) => (r.server.afterSettled ? (r.server.afterSettled.rss - r.server.baseline.rss) / r.units / 1024 : NaN),
        better: "lower",
        target: 0.45,
        format: "2",
        // Needs the idle settle, which quick mode skips.
        quick: false,
      },
      {
        key: "rssPerConnStorm",
        label: "RSS KiB/connection right after the storm",
        value: (r) => (r.server.after.rss - r.server.baseline.rss) / r.units / 1024,
        better: "lower",
        format: "2",
      },
      {
        key: "settleMs",
        label: "ms until the young generation shrank",
        value: (r) => r.server.settle?.settleMs ?? NaN,
        better: "lower",
        format: "int",
        quick: false,
      },
      { key: "cpuPerUnit", label: "server CPU µs/connection", value: (r) => cpuPerUnit(r) * 1e6, better: "lower", format: "2" },
    ],
  },
  {
    name: "polling-echo",
    title: "polling echo: 50 polling-only clients x 10 emits in flight",
    kind: "throughput",
    polling: true,
    workers: 1,
    params: () => ({ clients: 50, concurrency: 50, inFlight: 10 }),
    metrics: throughputMetrics("messages", "message", { throughput: 1.8, cpu: 0.55 }),
  },
  {
    name: "binary-echo",
    title: "binary echo: 64 KiB Buffers, 20 websocket clients x 8 in flight",
    kind: "throughput",
    workers: 1,
    params: () => ({ clients: 20, concurrency: 20, inFlight: 8, size: 64 * 1024, largeReads: 1 }),
    metrics: [
      { key: "throughput", label: "MB/s", value: (r) => r.bytes / 1e6 / (r.windowMs / 1000), better: "higher", target: 1.6, format: "1" },
      { key: "cpuPerUnit", label: "server CPU ms/MB", value: (r) => (windowCpu(r) * 1e3) / (r.bytes / 1e6), better: "lower", target: 0.55, format: "3" },
    ],
  },
  {
    name: "room-churn",
    title: "room churn: 1000 clients in 3 rooms each, cycling join/say/leave over 1000 rooms",
    kind: "throughput",
    workers: 1,
    params: () => ({ clients: 1000, concurrency: 100, rooms: 1000, held: 3 }),
    metrics: [
      ...throughputMetrics("ops", "op", { throughput: 2, cpu: 0.5 }),
      { key: "deliveries", label: "room deliveries/s", value: (r) => r.deliveries / (r.windowMs / 1000), format: "int" },
    ],
  },
  {
    name: "cross-node",
    title: "cross-node: 3 nodes over a private Redis, 300 websocket clients (100 a node) in one room, node A broadcasts small JSON",
    kind: "throughput",
    servers: 3,
    redis: true,
    durationMs: 1000,
    workers: 1,
    // fanout's client side: burst completion is counted over all clients in one process
    maxWorkers: 1,
    params: () => ({ clients: 300, concurrency: 100, burst: 10, window: 8 }),
    metrics: [
      ...throughputMetrics("deliveries", "delivery", { cpu: 0.4 }),
      {
        key: "redisCpuPerUnit",
        label: "redis-server CPU µs/delivery",
        // From Redis's INFO cpu (getrusage, µs) over the window; shown without a ratio (the same
        // redis-server serves both targets' message shapes). Not measured: NaN, shown as "–".
        value: (r) => (Number.isFinite(r.redis?.cpu) ? (r.redis.cpu * 1e6) / r.units : NaN),
        format: "3",
      },
    ],
  },
  {
    name: "scale",
    title: (mode) =>
      mode?.name === "quick"
        ? `scale (QUICK MODE: ${SCALE_CLIENTS.quick.toLocaleString("en-US")} connections, not ${SCALE_CLIENTS.full.toLocaleString("en-US")}): idle websocket connections from 4 source addresses, pingInterval 5 s, single broadcasts to all`
        : `scale: ${SCALE_CLIENTS.full.toLocaleString("en-US")} idle websocket connections from 4 source addresses, pingInterval 5 s, single broadcasts to all`,
    kind: "scale",
    optIn: true,
    // a run takes about a minute: no repeated runs unless --retries asks for them (the
    // full-run budget would grant them to the first target only)
    retries: 0,
    // 4 load processes of 4,500 connections each, from 127.0.0.2-5: far under the
    // per-process open-file limit; the server's soft limit is raised to the hard one
    workers: 4,
    settleMs: 8000,
    params: (mode) => ({
      clients: SCALE_CLIENTS[mode?.name === "quick" ? "quick" : "full"],
      warmup: 50,
      // handshakes in flight, all load processes together (as connect-ws)
      concurrency: 64,
      timeoutMs: 120000,
      // heartbeat window: this many pingIntervals (5 s) of idle connections
      pingIntervalMs: 5000,
      heartbeatIntervals: mode?.name === "quick" ? 2 : 3,
      // single broadcasts to every connection, one after the other
      broadcasts: mode?.name === "quick" ? 3 : 5,
      broadcastGapMs: 300,
    }),
    metrics: [
      {
        key: "connectRate",
        label: "connect rate, connections/s",
        value: (r) => r.scale.connections / (r.scale.stormMs / 1000),
        better: "higher",
        format: "int",
      },
      {
        key: "connectCpu",
        label: "connect: server CPU µs/connection",
        value: (r) => ((r.scale.stormServer.cpuUser + r.scale.stormServer.cpuSystem) * 1e6) / r.scale.connections,
        better: "lower",
        format: "2",
      },
      {
        key: "heapPerConn",
        label: "heap KiB/connection (after GC)",
        value: (r) => ((r.scale.stormServer.afterSettled ?? r.scale.stormServer.after).heapUsed - r.scale.stormServer.baseline.heapUsed) / r.scale.connections / 1024,
        better: "lower",
        target: 0.3,
        format: "2",
      },
      {
        key: "rssPerConn",
        label: "RSS KiB/connection (idle, after GC)",
        value: (r) =>
          r.scale.stormServer.afterSettled ? (r.scale.stormServer.afterSettled.rss - r.scale.stormServer.baseline.rss) / r.scale.connections / 1024 : NaN,
        better: "lower",
        target: 0.45,
        format: "2",
        quick: false,
      },
      {
        key: "rssPerConnStorm",
        label: "RSS KiB/connection right after the storm",
        value: (r) => (r.scale.stormServer.after.rss - r.scale.stormServer.baseline.rss) / r.scale.connections / 1024,
        better: "lower",
        format: "2",
      },
      {
        key: "pingCpu",
        label: "heartbeat: server CPU µs/ping (pingInterval 5 s)",
        value: (r) => ((r.server.cpuUser + r.server.cpuSystem) * 1e6) / r.scale.pings,
        better: "lower",
        target: 0.5,
        format: "2",
      },
      {
        key: "pingCpuMain",
        label: "heartbeat: of which main thread µs/ping",
        value: (r) => (r.server.threads ? (r.server.threads.main * 1e6) / r.scale.pings : NaN),
        better: "lower",
        format: "2",
      },
      { key: "pingRate", label: "heartbeat: pings/s received", value: (r) => r.scale.pings / (r.scale.heartbeatMs / 1000), format: "int" },
      { key: "bcastP50", label: "one broadcast to all: latency p50 ms", value: (r) => perBroadcast(r, "p50Us") / 1e3, better: "lower", format: "1" },
      { key: "bcastP99", label: "one broadcast to all: latency p99 ms", value: (r) => perBroadcast(r, "p99Us") / 1e3, better: "lower", target: 0.6, format: "1" },
      { key: "bcastMax", label: "one broadcast to all: latency max ms", value: (r) => perBroadcast(r, "maxUs") / 1e3, better: "lower", format: "1" },
      { key: "bcastCpu", label: "one broadcast to all: emit + flush server CPU ms", value: (r) => perBroadcast(r, "cpuUs") / 1e3, better: "lower", target: 0.5, format: "2" },
      { key: "bcastWall", label: "one broadcast to all: emit + flush wall ms", value: (r) => perBroadcast(r, "wallMs"), better: "lower", format: "2" },
    ],
  },
];

/**
 * This worker's parameters: client counts split over the workers, the rest as is.
 * @param {Record<string, number>} params
 * @param {number} index
 * @param {number} count
 */
export function workerParams(params, index, count) {
  const out = { ...params };
  for (const key of ["clients", "warmup"]) {
    if (key in out) out[key] = share(params[key], index, count);
  }
  return out;
}
