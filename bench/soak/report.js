// The soak's summary of one target's run, its verdict, and the side-by-side table.
import { addCounters, newCounters } from "./checks.js";
import { median } from "../lib/stats.js";

const MB = 1024 * 1024;
/** Run-queue wait (% of a sample interval) above which the server counts as starved by other processes. */
const STARVED_PCT = 30;
/** Samples before this (s) are left out of the after-warm-up heap trend. */
const WARMUP_SEC = 60;

/**
 * Least-squares slope of y over x.
 * @param {number[]} xs
 * @param {number[]} ys
 */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/**
 * Least-squares slope of y over x when z is held equal: the x coefficient of
 * y = a + b x + c z. The server's heap follows the number of connected sockets,
 * which churn moves up and down between samples; this separates the two.
 * Falls back to the plain slope when z does not vary.
 */
export function slopeAtEqual(xs, zs, ys) {
  const n = xs.length;
  if (n < 3) return slope(xs, ys);
  const mean = (v) => v.reduce((a, b) => a + b, 0) / n;
  const [mx, mz, my] = [mean(xs), mean(zs), mean(ys)];
  let sxx = 0, szz = 0, sxz = 0, sxy = 0, szy = 0;
  for (let i = 0; i < n; i++) {
    const [dx, dz, dy] = [xs[i] - mx, zs[i] - mz, ys[i] - my];
    sxx += dx * dx;
    szz += dz * dz;
    sxz += dx * dz;
    sxy += dx * dy;
    szy += dz * dy;
  }
  const det = sxx * szz - sxz * sxz;
  if (szz === 0 || Math.abs(det) < 1e-9 * sxx * szz) return slope(xs, ys);
  return (sxy * szz - szy * sxz) / det;
}

/**
 * Integrity failures of a run: every one must be 0 for PASS.
 * @param {ReturnType<typeof newCounters>} c
 */
export function failures(c) {
  return {
    "room broadcasts lost": c.room.lost,
    "room broadcasts duplicated": c.room.duplicated,
    "room broadcasts out of order": c.room.outOfOrder,
    "room broadcasts misrouted": c.room.misrouted,
    "direct messages lost": c.direct.lost,
    "direct messages duplicated": c.direct.duplicated,
    "direct messages out of order": c.direct.outOfOrder,
    "acks with a wrong payload": c.acks.wrong,
    "acks duplicated": c.acks.duplicated,
    "acks missing": c.acks.missing,
    "unexpected disconnects": c.unexpectedDisconnects,
    "connect errors": c.connectErrors,
    "connections silent for over 10 s": c.silentConnections,
  };
}

/**
 * @param {object} run raw measurements of one target (see run.js soakTarget)
 */
export function summarize(run) {
  const counters = run.workers.reduce((acc, w) => addCounters(acc, w.counters), newCounters());
  const samples = run.samples;
  const first = samples[0];
  const last = samples.at(-1);
  const minutes = samples.map((s) => s.t / 60);
  const sockets = samples.map((s) => s.sockets);
  const failed = Object.entries(failures(counters)).filter(([, n]) => n !== 0);
  return {
    target: run.target,
    ok: failed.length === 0 && run.settled,
    failed: Object.fromEntries(failed),
    settled: run.settled,
    durationSec: run.durationSec,
    clients: run.params.clients,
    workers: run.workers.length,
    counters,
    heap: {
      startMB: first.heapUsed / MB,
      endMB: last.heapUsed / MB,
      trendMBPerMin: slope(minutes, samples.map((s) => s.heapUsed / MB)),
      trendAtEqualSocketsMBPerMin: slopeAtEqual(minutes, sockets, samples.map((s) => s.heapUsed / MB)),
      // the first minute warms up (code, pools, buffers); a leak keeps growing after it
      trendAfterWarmupMBPerMin: afterWarmup(samples, (ss) =>
        slopeAtEqual(ss.map((s) => s.t / 60), ss.map((s) => s.sockets), ss.map((s) => s.heapUsed / MB)),
      ),
      endpointsMBPerMin: (last.heapUsed - first.heapUsed) / MB / ((last.t - first.t) / 60),
    },
    rss: {
      startMB: first.rss / MB,
      endMB: last.rss / MB,
      trendMBPerMin: slope(minutes, samples.map((s) => s.rss / MB)),
      trendAtEqualSocketsMBPerMin: slopeAtEqual(minutes, sockets, samples.map((s) => s.rss / MB)),
    },
    sockets: { start: first.sockets, end: last.sockets },
    serverConnections: last.connections - first.connections,
    serverReasons: diffReasons(first.reasons, last.reasons),
    serverCpuPct: (100 * (last.cpuSec - first.cpuSec)) / (last.t - first.t),
    serverUserPct: (100 * (last.cpuUserSec - first.cpuUserSec)) / (last.t - first.t),
    cores: run.cores,
    workerCpuPct: run.workers.map((w) => w.cpuPct),
    // What other processes of the machine took of each core (the load core's
    // own share is the workers' and the runner's; meaningless when the workers float).
    othersPct: {
      server: run.cores.server - (100 * (last.cpuSec - first.cpuSec)) / (last.t - first.t),
      load: run.floatWorkers ? NaN : run.cores.load - run.workers.reduce((n, w) => n + w.cpuPct, 0) - run.runnerCpuPct,
    },
    loopDelayP99Ms: Math.max(...run.workers.map((w) => w.loopDelayP99Ms)),
    loopDelayMaxMs: Math.max(...run.workers.map((w) => w.loopDelayMaxMs)),
    maxSilenceMs: Math.max(...run.workers.map((w) => w.maxSilenceMs)),
    // per worker percentiles: the median of the medians, the worst p99 and max
    ackMs: {
      p50: median(run.workers.map((w) => w.ackMs.p50)),
      p99: Math.max(...run.workers.map((w) => w.ackMs.p99)),
      max: Math.max(...run.workers.map((w) => w.ackMs.max)),
    },
    // Share of the time the server was runnable but its core was taken (see net-stats.js).
    serverWaitPct: {
      avg: (100 * (last.serverWaitSec - first.serverWaitSec)) / (last.t - first.t),
      worst: Math.max(...samples.slice(1).map((s) => s.serverWaitPct)),
    },
    workerWaitPct: Math.max(...first.workerWaitSec.map((w0, i) => (100 * (last.workerWaitSec[i] - w0)) / (last.t - first.t))),
    net: run.net,
  };
}

/** `f` of the samples from the first minute on, NaN with fewer than 3 of them. */
function afterWarmup(samples, f) {
  const later = samples.filter((s) => s.t >= WARMUP_SEC);
  return later.length >= 3 ? f(later) : NaN;
}

function diffReasons(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const fix = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const signed = (n, d = 2) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(d)}` : "–");
const reasons = (map) =>
  Object.entries(map)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";

/** Rows of the table: label and a formatter of one summary. */
const ROWS = [
  ["duration (s)", (s) => fix(s.durationSec, 0)],
  ["clients / load workers", (s) => `${s.clients} / ${s.workers}`],
  ["connections (client-side connects)", (s) => int(s.counters.connects)],
  ["deliberate disconnects", (s) => int(s.counters.disconnects)],
  ["unexpected disconnects", (s) => `${int(s.counters.unexpectedDisconnects)} (${reasons(s.counters.reasons)})`],
  ["connect errors", (s) => `${int(s.counters.connectErrors)} (${reasons(s.counters.errors)})`],
  ["server-side disconnect reasons", (s) => reasons(s.serverReasons)],
  ["silent connections (> 10 s) / longest silence (s)", (s) => `${int(s.counters.silentConnections)} / ${fix(s.maxSilenceMs / 1000)}`],
  ["room broadcasts checked", (s) => int(s.counters.room.checked)],
  ["room broadcasts lost / dup / out of order / misrouted", (s) => ["lost", "duplicated", "outOfOrder", "misrouted"].map((k) => int(s.counters.room[k])).join(" / ")],
  ["direct messages checked", (s) => int(s.counters.direct.checked)],
  ["direct messages lost / dup / out of order", (s) => ["lost", "duplicated", "outOfOrder"].map((k) => int(s.counters.direct[k])).join(" / ")],
  ["acks sent / ok", (s) => `${int(s.counters.acks.sent)} / ${int(s.counters.acks.ok)}`],
  ["acks wrong / dup / missing", (s) => ["wrong", "duplicated", "missing"].map((k) => int(s.counters.acks[k])).join(" / ")],
  ["ack time p50 / p99 / max (ms)", (s) => `${fix(s.ackMs.p50)} / ${fix(s.ackMs.p99)} / ${fix(s.ackMs.max, 0)}`],
  ["acks in flight at deliberate / unexpected disconnect", (s) => `${int(s.counters.acks.excused)} / ${int(s.counters.acks.cutByUnexpected)}`],
  ["server sockets at start / end", (s) => `${s.sockets.start} / ${s.sockets.end}`],
  ["server heap after GC start -> end (MB)", (s) => `${fix(s.heap.startMB)} -> ${fix(s.heap.endMB)}`],
  ["server heap trend (MB/min): start->end / least squares", (s) => `${signed(s.heap.endpointsMBPerMin)} / ${signed(s.heap.trendMBPerMin)}`],
  ["server heap trend at equal sockets (MB/min): all samples / after 1 min", (s) =>
    `${signed(s.heap.trendAtEqualSocketsMBPerMin)} / ${signed(s.heap.trendAfterWarmupMBPerMin)}`],
  ["server RSS start -> end (MB)", (s) => `${fix(s.rss.startMB)} -> ${fix(s.rss.endMB)}`],
  ["server RSS trend (MB/min): least squares / at equal sockets", (s) => `${signed(s.rss.trendMBPerMin)} / ${signed(s.rss.trendAtEqualSocketsMBPerMin)}`],
  ["server CPU, % of a core: total (user + system)", (s) => `${fix(s.serverCpuPct)} (${fix(s.serverUserPct)} + ${fix(s.serverCpuPct - s.serverUserPct)})`],
  ["server core / load core busy %", (s) => `${fix(s.cores.server, 0)} / ${fix(s.cores.load, 0)}`],
  ["other processes on server / load core %", (s) => `${fix(Math.max(0, s.othersPct.server), 0)} / ${fix(Math.max(0, s.othersPct.load), 0)}`],
  ["worker CPU % (each)", (s) => s.workerCpuPct.map((p) => fix(p, 0)).join(" ")],
  ["worker event-loop delay p99 / max (ms)", (s) => `${fix(s.loopDelayP99Ms)} / ${fix(s.loopDelayMaxMs)}`],
  ["server waited for its core, % of the time: average / worst 15 s", (s) => `${fix(s.serverWaitPct.avg, 0)} / ${fix(s.serverWaitPct.worst, 0)}`],
  ["busiest worker waited for its core, % of the time", (s) => fix(s.workerWaitPct, 0)],
  ["kernel, machine-wide: backlog drops / SYN drops / TCP timeouts", (s) =>
    s.net ? [s.net.backlogDrops, s.net.listenDrops, s.net.tcpTimeouts].map(int).join(" / ") : "–"],
  ["verdict", (s) => (s.ok ? "PASS" : `FAIL (${verdictReasons(s)})`)],
];

function verdictReasons(s) {
  const parts = Object.entries(s.failed).map(([k, v]) => `${k}: ${v}`);
  if (!s.settled) parts.push("did not settle (clients not all reconnected or acks still in flight)");
  const health = ["acks missing", "unexpected disconnects", "connect errors", "connections silent for over 10 s"];
  if (Object.keys(s.failed).some((k) => health.includes(k)) && s.serverWaitPct.worst > STARVED_PCT) {
    parts.push(`the server waited for its core up to ${fix(s.serverWaitPct.worst, 0)}% of the time (other processes): connection-health counts may come from the machine`);
  }
  return parts.join("; ");
}

/** Plain-text table, one column per target. */
export function textTable(summaries) {
  const header = ["", ...summaries.map((s) => s.target)];
  const rows = [header, ...ROWS.map(([label, f]) => [label, ...summaries.map(f)])];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** Markdown table, one column per target (for the README). */
export function markdownTable(summaries) {
  const lines = [`| | ${summaries.map((s) => s.target).join(" | ")} |`, `|---|${summaries.map(() => "---").join("|")}|`];
  for (const [label, f] of ROWS) lines.push(`| ${label.trim()} | ${summaries.map(f).join(" | ")} |`);
  return lines.join("\n");
}
