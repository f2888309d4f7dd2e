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
// `polling: true` marks scenarios that need the polling transport (the `raw`
// calibration server skips them).
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
    name: "echo-ack",
    title: "echo-ack: 200 websocket clients x 10 emits in flight, server acks",
    kind: "throughput",
    workers: 1,
    params: () => ({ clients: 200, concurrency: 100, inFlight: 10 }),
    metrics: throughputMetrics("acks", "ack", { throughput: 2, cpu: 0.5 }),
  },
  {
    name: "connect-ws",
    title: "connect storm, websocket: 2000 clients",
    kind: "storm",
    workers: 1,
    params: () => ({ clients: 2000, concurrency: 50, timeoutMs: 30000 }),
    metrics: throughputMetrics("connections", "connection", { throughput: 1.6, cpu: 0.6 }),
  },
  {
    name: "connect-polling",
    title: "connect storm, polling + upgrade: 500 clients",
    kind: "storm",
    polling: true,
    workers: 1,
    params: () => ({ clients: 500, concurrency: 200, timeoutMs: 30000 }),
    metrics: throughputMetrics("connections", "connection", { throughput: 1.3, cpu: 0.75 }),
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
        target: 0.4,
        format: "2",
      },
      {
        key: "rssPerConn",
        label: "RSS KiB/connection (idle)",
        value: (r) => (r.server.afterSettled ? (r.server.afterSettled.rss - r.server.baseline.rss) / r.units / 1024 : NaN),
        better: "lower",
        target: 0.6,
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
    metrics: throughputMetrics("messages", "message", { throughput: 1.6, cpu: 0.6 }),
  },
  {
    name: "binary-echo",
    title: "binary echo: 64 KiB Buffers, 20 websocket clients x 8 in flight",
    kind: "throughput",
    workers: 1,
    params: () => ({ clients: 20, concurrency: 20, inFlight: 8, size: 64 * 1024, largeReads: 1 }),
    metrics: [
      { key: "throughput", label: "MB/s", value: (r) => r.bytes / 1e6 / (r.windowMs / 1000), better: "higher", target: 1.4, format: "1" },
      { key: "cpuPerUnit", label: "server CPU ms/MB", value: (r) => (windowCpu(r) * 1e3) / (r.bytes / 1e6), better: "lower", target: 0.7, format: "3" },
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
