// Every core of one machine, and what session forwarding costs:
//   node bench/cluster.js [--rounds 2] [--duration 3000] [--iterations 1500] [--part throughput|forwarding]
// (npm run build first: the apps import dist/).
//
// Part 1, throughput: fanout (1000 WebSocket clients in one room, small JSON
// broadcasts) and echo-ack (200 WebSocket clients x 10 acked emits in flight),
// each with 1 and 2 workers (2 = every core of this 2-core machine), for
//   tidewire  + tidewire/cluster (setupPrimary(); node:cluster round-robin, no sticky sessions)
//   socket.io + @socket.io/cluster-adapter + @socket.io/sticky (the sticky primary holds the port)
// with the same worker counts; ratios tidewire / socket.io of the medians.
// The load generator is bench/load/worker.js (the main bench's clients), in
// its own process; nothing is pinned (the workers need both cores), so the
// load competes with the servers: compare the two targets, not the absolute
// numbers with bench/README.md's single-core ones.
//
// Part 2, forwarding: one client doing acked echoes over long-polling (a POST
// carrying the event, a GET fetching the ack: two requests per message),
// sequentially, so each message's latency is the path of its two requests:
//   node:cluster, 1 worker, a new connection per request     every request local
//   node:cluster, 2 workers, a new connection per request    round-robin: one request in two handed over
//   node:cluster, 2 workers, one keep-alive connection       the connection moves to the owner once
//   Redis, requests to the session's node                    local
//   Redis, requests to the other node                        every request relayed over Redis
// Reported: latency per message p50 / p99 and the server side's CPU per
// message (every worker and the primary; both nodes and redis-server).
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PrivateRedis } from "./lib/redis-server.js";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROUNDS = Number(opt("rounds", 2));
const DURATION = Number(opt("duration", 3000));
const ITERATIONS = Number(opt("iterations", 1500));
const PART = opt("part", "all");
const WARMUP = 500;

const SCENARIOS = {
  fanout: { params: { clients: 1000, concurrency: 100, burst: 10, window: 8 }, unit: "delivery", units: "deliveries" },
  "echo-ack": { params: { clients: 200, concurrency: 100, inFlight: 10 }, unit: "ack", units: "acks" },
};
const TARGETS = ["tidewire", "socket.io"];
const WORKERS = [1, 2];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// ---- child processes ---------------------------------------------------------------------------

const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** Forks a bench child and waits for its `{type: "ready"}`; `call(cmd, args)` talks to it. */
async function child(script, argv, timeoutMs = 30000) {
  const proc = fork(here(script), argv, { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  const pending = new Map();
  let nextId = 1;
  proc.on("message", (msg) => {
    const p = pending.get(msg?.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error));
    else p.resolve(msg.result ?? msg);
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${timeoutMs} ms`)), timeoutMs);
    proc.on("message", (msg) => msg?.type === "ready" && (clearTimeout(timer), resolve(msg)));
    proc.once("exit", (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
  return {
    ready,
    call: (cmd, a = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        proc.send({ id, cmd, args: a });
      }),
    async stop() {
      proc.kill("SIGKILL");
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once("exit", r));
    },
  };
}

// ---- part 1: throughput ----------------------------------------------------------------------

async function throughputRun(target, workers, scenario) {
  const app = await child("./cluster/app.js", [target, String(workers)]);
  const load = await child("./load/worker.js", []);
  try {
    const { port } = app.ready;
    const setup = await load.call("setup", { scenario, port, params: SCENARIOS[scenario].params, index: 0, count: 1 });
    if (setup.errors) throw new Error(`setup errors: ${setup.errorSamples}`);
    await load.call("start");
    await sleep(WARMUP);
    const cpu0 = (await app.call("cpu")).cpu;
    await load.call("mark");
    const t0 = performance.now();
    await sleep(DURATION);
    const res = await load.call("end");
    const cpu1 = (await app.call("cpu")).cpu;
    const serverMs = performance.now() - t0;
    await load.call("stop");
    const serverCpu = ((cpu1 - cpu0) * res.elapsedMs) / serverMs;
    return { target, workers, scenario, units: res.units, errors: res.errors, windowMs: res.elapsedMs, serverCpu, loadCpu: res.cpuUser + res.cpuSystem };
  } finally {
    await load.stop();
    await app.stop();
  }
}

async function throughput() {
  const runs = [];
  for (const scenario of Object.keys(SCENARIOS)) {
    for (const workers of WORKERS) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of round % 2 ? [...TARGETS].reverse() : TARGETS) {
          const run = await throughputRun(target, workers, scenario);
          runs.push(run);
          console.error(
            `${scenario} ${target} ${workers}w round ${round + 1}: ${Math.round(run.units / (run.windowMs / 1000))}/s, ` +
              `${((run.serverCpu / run.units) * 1e6).toFixed(2)} µs CPU/${SCENARIOS[scenario].unit}${run.errors ? `, ${run.errors} errors` : ""}`,
          );
        }
      }
    }
  }
  return runs;
}

function throughputTable(runs) {
  const lines = [
    "| scenario | workers | tidewire /s | socket.io /s | ratio | tidewire CPU µs/unit | socket.io CPU µs/unit | ratio |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const scenario of Object.keys(SCENARIOS)) {
    for (const workers of WORKERS) {
      const of = (target) => runs.filter((r) => r.scenario === scenario && r.workers === workers && r.target === target);
      const rate = (target) => median(of(target).map((r) => r.units / (r.windowMs / 1000)));
      const cpu = (target) => median(of(target).map((r) => (r.serverCpu / r.units) * 1e6));
      const [rt, rs, ct, cs] = [rate("tidewire"), rate("socket.io"), cpu("tidewire"), cpu("socket.io")];
      lines.push(
        `| ${scenario} (${SCENARIOS[scenario].units}) | ${workers} | ${Math.round(rt)} | ${Math.round(rs)} | ${(rt / rs).toFixed(2)}x | ` +
          `${ct.toFixed(2)} | ${cs.toFixed(2)} | ${(ct / cs).toFixed(2)}x |`,
      );
    }
  }
  return lines.join("\n");
}

// ---- part 2: forwarded polling requests ---------------------------------------------------------

const BASE = "/socket.io/?EIO=4&transport=polling";

function request(port, method, path, body, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, agent, headers: body ? { "content-type": "text/plain;charset=UTF-8" } : {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`${method} ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * One session opened at `ownerPort`; `iterations` acked echoes, each a POST
 * and a GET to `port` (a function of the request number). Returns the
 * latencies per message (ms).
 */
async function echoes(ownerPort, port, iterations, agent) {
  const open = await request(ownerPort, "GET", BASE, undefined, agent);
  const sid = JSON.parse(open.split("\x1e")[0].slice(1)).sid;
  const path = `${BASE}&sid=${sid}`;
  let n = 0;
  await request(port(n++), "POST", path, "40", agent);
  await request(port(n++), "GET", path, undefined, agent);
  const latencies = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await request(port(n++), "POST", path, `42${i}["echo","hello"]`, agent);
    let body = await request(port(n++), "GET", path, undefined, agent);
    while (!body.includes(`43${i}["hello"]`)) {
      // A ping came first: answer it and fetch the ack.
      await request(port(n++), "POST", path, "3", agent);
      body = await request(port(n++), "GET", path, undefined, agent);
    }
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

async function measure(name, cpu, run) {
  const warm = await run(100);
  void warm;
  const c0 = await cpu();
  const latencies = await run(ITERATIONS);
  const c1 = await cpu();
  const result = { name, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuPerMessage: ((c1 - c0) / ITERATIONS) * 1e6 };
  console.error(`${name}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${result.cpuPerMessage.toFixed(0)} µs CPU/message`);
  return result;
}

async function forwarding() {
  const results = [];
  for (const [name, workers, keepAlive] of [
    ["node:cluster, 1 worker, new connection per request (local)", 1, false],
    ["node:cluster, 2 workers, new connection per request (1 in 2 handed over)", 2, false],
    ["node:cluster, 2 workers, one keep-alive connection (moves to the owner once)", 2, true],
  ]) {
    const app = await child("./cluster/app.js", ["tidewire", String(workers)]);
    const { port } = app.ready;
    const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    results.push(await measure(name, async () => (await app.call("cpu")).cpu, (n) => echoes(port, () => port, n, agent)));
    if (agent) agent.destroy();
    await app.stop();
  }
  const redis = await PrivateRedis.start(0);
  try {
    const nodes = await Promise.all([0, 1].map(() => child("./cluster/redis-node.js", [String(redis.port)])));
    const [a, b] = nodes.map((n) => n.ready.port);
    const cpu = async () => (await Promise.all(nodes.map((n) => n.call("cpu")))).reduce((s, r) => s + r.cpu, 0) + (await redis.cpuSeconds());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    results.push(await measure("Redis, 2 nodes, requests to the session's node (local)", cpu, (n) => echoes(a, () => a, n, agent)));
    results.push(await measure("Redis, 2 nodes, requests to the other node (every request relayed)", cpu, (n) => echoes(a, () => b, n, agent)));
    agent.destroy();
    for (const n of nodes) await n.stop();
  } finally {
    await redis.stop();
  }
  return results;
}

function forwardingTable(results) {
  const lines = ["| path (1 client, acked echo over polling: POST + GET per message) | p50 ms | p99 ms | server CPU µs/message |", "|---|---|---|---|"];
  for (const r of results) lines.push(`| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuPerMessage.toFixed(0)} |`);
  return lines.join("\n");
}

// ---- main ----------------------------------------------------------------------------------------

const load = os.loadavg()[0];
console.error(`bench/cluster.js: ${os.cpus().length} cores, load average ${load.toFixed(1)}; rounds ${ROUNDS}, window ${DURATION} ms, ${ITERATIONS} messages per path`);
const out = { date: new Date().toISOString(), cores: os.cpus().length, loadAverage: os.loadavg(), rounds: ROUNDS, durationMs: DURATION, iterations: ITERATIONS };
const sections = [];
if (PART === "all" || PART === "throughput") {
  out.throughput = await throughput();
  sections.push(throughputTable(out.throughput));
}
if (PART === "all" || PART === "forwarding") {
  out.forwarding = await forwarding();
  sections.push(forwardingTable(out.forwarding));
}
mkdirSync(here("./results/"), { recursive: true });
writeFileSync(here(`./results/cluster-${out.date.replace(/[:.]/g, "-")}.json`), JSON.stringify(out, null, 2));
console.log(sections.join("\n\n"));
process.exit(0);
