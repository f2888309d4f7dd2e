// The drain measurement of issue 14 (not part of `npm run bench`):
//   node bench/drain/run.js [--clients 2000] [--duration 10000] [--batch N] [--baseline]
// 2,000 official socket.io-client clients (WebSocket, in --loads 4 processes) on
// node A; node B on the same private Redis (tidewire/redis); both behind a
// small round-robin TCP proxy that follows their readiness (/ready, checked
// every 100 ms). B broadcasts a sequence number to the room every --tick 250 ms. A
// drains over --duration ms. Reported: where the clients end up, errors the
// clients saw, reconnections per 100 ms on B (peak and distribution),
// closes per 100 ms on A, and what the clients missed or got twice of B's
// broadcasts during the drain (classic Redis pub/sub keeps no sessions, so a
// client in transit misses what is sent meanwhile: exactly-once needs a
// shared session store, see test/integration/ops/drain-recovery.test.ts).
// --streams runs both nodes on tidewire/redis-streams with connection state
// recovery: clients in transit recover on B with what they missed.
// --baseline also runs durationMs 0 (every client closed at once, as
// socket.io's close() does) for comparison. Needs `npm run build` first.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PrivateRedis } from "../lib/redis-server.js";
import { startProxy } from "../lib/rr-proxy.js";
import { maxInWindow } from "./windows.js";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const CLIENTS = opt("clients", 2000);
const DURATION = opt("duration", 10_000);
const BATCH = opt("batch", undefined);
const TICK = opt("tick", 250);
const LOADS = opt("loads", 4);
const ADAPTER = args.includes("--streams") ? "redis-streams" : "redis";
const here = (file) => fileURLToPath(new URL(file, import.meta.url));

function child(file, argv) {
  const proc = fork(here(file), argv, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let next = 0;
  const pending = new Map();
  const ready = new Promise((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${file} exited (${code})`)));
    proc.on("message", (msg) => {
      if (msg.ready) return resolve(msg);
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    });
  });
  const call = (cmd, extra = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      proc.send({ id, cmd, ...extra });
    });
  return { proc, ready, call };
}

const histogram = (timestamps, t0, windowMs = 100) => {
  const counts = {};
  for (const t of timestamps) {
    const slot = Math.floor((t - t0) / windowMs);
    counts[slot] = (counts[slot] ?? 0) + 1;
  }
  const values = Object.values(counts).sort((a, b) => a - b);
  const pct = (p) => values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? 0;
  return { windows: values.length, p50: pct(0.5), p95: pct(0.95) };
};

async function scenario(redis, durationMs) {
  const key = `drain-bench-${Date.now()}`;
  const a = child("./node.js", ["A", String(redis.port), key, ADAPTER]);
  const b = child("./node.js", ["B", String(redis.port), key, ADAPTER]);
  const [{ port: portA }, { port: portB }] = await Promise.all([a.ready, b.ready]);
  const proxy = await startProxy({ backends: [{ port: portA }], checkMs: 100 });
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    const count = Math.floor(CLIENTS / LOADS) + (i < CLIENTS % LOADS ? 1 : 0);
    loads.push(child("./clients.js", [String(proxy.port), String(count)]));
  }
  const t = Date.now();
  await Promise.all(loads.map((l) => l.ready));
  console.log(`  ${CLIENTS} clients connected to A in ${Date.now() - t} ms`);
  proxy.setBackends([{ port: portA }, { port: portB }]);
  await proxy.check();
  await b.call("tick", { everyMs: TICK });
  await new Promise((r) => setTimeout(r, 500));
  const { sent: from } = await b.call("untick");
  await b.call("tick", { everyMs: TICK });
  const start = Date.now();
  const { ms } = await a.call("drain", { opts: { durationMs, ...(BATCH ? { batch: BATCH } : {}) } });
  // Until every client is connected again (on B), at most 15 s.
  const deadline = Date.now() + 15_000;
  let connected = 0;
  while (Date.now() < deadline) {
    const states = await Promise.all(loads.map((l) => l.call("state")));
    connected = states.reduce((n, s) => n + s.connected, 0);
    if (connected === CLIENTS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const settled = Date.now() - start;
  await new Promise((r) => setTimeout(r, 300));
  const { sent: to } = await b.call("untick");
  await new Promise((r) => setTimeout(r, 500));
  const [ra, rb] = await Promise.all([a.call("report"), b.call("report")]);
  const reports = await Promise.all(loads.map((l) => l.call("report", { from, to })));
  const merge = (key) => reports.reduce((acc, r) => {
    for (const [k, v] of Object.entries(r[key])) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, {});
  const reconnects = rb.connectedAt.filter((x) => x >= start);
  const closes = ra.closedAt.filter((x) => x >= start);
  const result = {
    adapter: ADAPTER,
    durationMs,
    drainMs: ms,
    allBackMs: settled,
    onA: ra.clients,
    onB: rb.clients,
    connected,
    clientErrors: merge("errors"),
    disconnectReasons: merge("reasons"),
    reconnectsPer100msPeak: maxInWindow(reconnects, 100),
    // The same seen at the load balancer: TCP connections to B accepted by the proxy.
    proxyConnectsToBPer100msPeak: maxInWindow(proxy.acceptedAt(portB).filter((x) => x >= start), 100),
    reconnectsPer100ms: histogram(reconnects, start),
    closesPer100msPeak: maxInWindow(closes, 100),
    drainCloses: ra.stats.sessionCloses.server_drain.websocket + ra.stats.sessionCloses.server_drain.polling,
    broadcastsDuringDrain: to - from,
    missed: reports.reduce((n, r) => n + r.missing, 0),
    duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
    clientsWithEveryBroadcast: reports.reduce((n, r) => n + r.complete, 0),
    clientsRecovered: reports.reduce((n, r) => n + r.recovered, 0),
    proxyDropped: proxy.dropped(),
    loadAverage: (await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" "),
  };
  await Promise.all([...loads.map((l) => l.call("exit")), a.call("exit"), b.call("exit")]);
  await proxy.close();
  return result;
}

const redis = await PrivateRedis.start(1);
try {
  console.log(`drain: ${CLIENTS} clients on ${ADAPTER}, A drains over ${DURATION} ms${BATCH ? `, batch ${BATCH}` : ""}`);
  console.log(JSON.stringify(await scenario(redis, DURATION), null, 2));
  if (args.includes("--baseline")) {
    console.log("baseline: every client closed at once (durationMs 0)");
    console.log(JSON.stringify(await scenario(redis, 0), null, 2));
  }
} finally {
  await redis.stop();
}
process.exit(0);
