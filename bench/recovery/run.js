// Recovery benchmark: tidewire + tidewire/redis-streams against socket.io 4.8 +
// @socket.io/redis-streams-adapter 0.3.1, same application, same run.
//
// Phase 1 (recovery under failures): 1,000 clients across 3 nodes (through a TCP
// balancer, as behind a load balancer), 10 rooms of 100, a broadcast every 20 ms
// (to the rooms in turn: 5,000 deliveries a second) from a fourth node that
// holds no clients, and one node
// killed (SIGKILL) every 10 s for a minute, each replaced at once. Its clients
// reconnect through the balancer to the live nodes. Reported: the share of
// clients that recovered every time they reconnected, and messages missed,
// duplicated and reordered (each room's broadcasts are numbered).
//
// Phase 2 (cross-node throughput and CPU): 3 nodes, 100 clients on each in one
// room, node A broadcasting 500 small messages a second for 4 s; reported over
// the last 3 s: deliveries a second at the clients and the nodes' CPU (summed)
// per delivery, plus redis-server's.
//
//   npm run build && node bench/recovery/run.js            # both targets (about 3 minutes)
//   node bench/recovery/run.js --target tidewire --quick   # 20 s of failures, 2 kills
//   node bench/recovery/run.js --phase throughput          # or --phase recovery
//   NODE_PROF_DIR=/tmp/prof BLAST_MS=15000 node bench/recovery/run.js --phase throughput --quick
//                                    # CPU profiles of the nodes over a longer broadcast phase
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { io as ioc } from "socket.io-client";
import { killAllChildren, trackProcess } from "../lib/children.js";
import { PrivateRedis } from "../lib/redis-server.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const targets = args.includes("--target") ? [args[args.indexOf("--target") + 1]] : ["tidewire", "socket.io"];
const CLIENTS = 1000;
const ROOMS = 10;
const TICK_MS = 20;
const KILL_EVERY = 10_000;
const FAIL_FOR = quick ? 20_000 : 60_000;
const log = (...a) => console.error("[recovery]", ...a);
const nodeScript = fileURLToPath(new URL("./node.js", import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

process.on("exit", killAllChildren);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

async function startNode(impl, redisUrl, key) {
  const proc = fork(nodeScript, [], { execArgv: process.env.NODE_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.NODE_PROF_DIR] : [], env: { ...process.env, IMPL: impl, REDIS_URL: redisUrl, KEY: key }, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  trackProcess(proc);
  let id = 0;
  const pending = new Map();
  proc.on("message", (m) => {
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    m.error ? p.reject(new Error(m.error)) : p.resolve(m.result);
  });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("node not ready in 15 s")), 15000);
    proc.on("message", (m) => m?.type === "ready" && (clearTimeout(t), resolve(m.port)));
    proc.once("exit", () => reject(new Error("node exited before ready")));
  });
  const exited = new Promise((r) => proc.once("exit", r));
  return {
    port,
    proc,
    call: (cmd, a) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve, reject });
        proc.send({ id: n, cmd, args: a });
        setTimeout(() => pending.has(n) && (pending.delete(n), reject(new Error(`${cmd}: no answer`))), 10000);
      }),
    kill: (sig = "SIGKILL") => (proc.kill(sig), exited),
  };
}

/** Round-robin over the live nodes; a dead node's connections close with it. */
async function startBalancer(alive) {
  let next = 0;
  const server = net.createServer((front) => {
    const ports = alive();
    if (ports.length === 0) return front.destroy();
    const back = net.connect(ports[next++ % ports.length], "127.0.0.1");
    const end = () => (front.destroy(), back.destroy());
    front.on("error", end).on("close", end);
    back.on("error", end).on("close", end);
    front.pipe(back);
    back.pipe(front);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

async function until(check, ms) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

async function recoveryPhase(impl) {
  const redis = await PrivateRedis.start("0-1");
  const url = `redis://127.0.0.1:${redis.port}`;
  const key = `bench-${impl}-${Date.now()}`;
  const nodes = await Promise.all([0, 1, 2].map(() => startNode(impl, url, key)));
  const ticker = await startNode(impl, url, key);
  const lb = await startBalancer(() => nodes.filter(Boolean).map((n) => n.port));
  const rooms = Array.from({ length: ROOMS }, (_, i) => `r${i}`);
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const room = rooms[i % ROOMS];
    const socket = ioc(lb.url, {
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      auth: { room },
    });
    const c = { socket, room, seqs: [], connects: 0, recoveredAll: true };
    socket.on("connect", () => {
      if (c.connects++ > 0 && !socket.recovered) c.recoveredAll = false;
    });
    socket.on("tick", (r, n) => r === room && c.seqs.push(n));
    clients.push(c);
    if (i % 100 === 99) await until(() => clients.every((x) => x.socket.connected), 10000);
  }
  await until(() => clients.every((x) => x.socket.connected), 15000);
  log(`${impl}: ${clients.filter((x) => x.socket.connected).length} clients connected; failures for ${FAIL_FOR / 1000} s`);
  await ticker.call("startTicker", { rooms, interval: TICK_MS });
  const start = Date.now();
  for (let k = 1; k * KILL_EVERY <= FAIL_FOR; k++) {
    await sleep(start + k * KILL_EVERY - Date.now());
    const i = (k - 1) % 3;
    const victim = nodes[i];
    nodes[i] = null;
    await victim.kill("SIGKILL");
    nodes[i] = await startNode(impl, url, key);
    log(`${impl}: killed a node at ${((Date.now() - start) / 1000).toFixed(1)} s, replaced it`);
  }
  await sleep(2000);
  const finals = await ticker.call("stopTicker");
  const settled = await until(() => clients.every((c) => c.socket.connected && c.seqs.at(-1) === finals[c.room]), 15000);
  let missed = 0, duplicated = 0, reordered = 0, reconnected = 0, recovered = 0, lossy = 0;
  for (const c of clients) {
    if (c.connects > 1) {
      reconnected++;
      if (c.recoveredAll) recovered++;
    }
    if (c.seqs.length === 0) continue;
    const first = Math.min(...c.seqs.slice(0, 1));
    const seen = new Set();
    let m = 0;
    for (let k = 0; k < c.seqs.length; k++) {
      const s = c.seqs[k];
      if (seen.has(s)) duplicated++;
      else if (k > 0 && s < c.seqs[k - 1]) reordered++;
      seen.add(s);
    }
    for (let s = first; s <= finals[c.room]; s++) if (!seen.has(s)) m++;
    missed += m;
    if (m > 0) lossy++;
  }
  const result = {
    impl, clients: CLIENTS, kills: Math.floor(FAIL_FOR / KILL_EVERY), broadcasts: Object.values(finals).reduce((a, b) => a + b, 0),
    settled, reconnected, recovered, recoveredShare: reconnected ? recovered / reconnected : 1, missed, duplicated, reordered, clientsWithLoss: lossy,
  };
  log(`${impl}:`, JSON.stringify(result));
  for (const c of clients) c.socket.disconnect();
  lb.close();
  await Promise.all([...nodes, ticker].map((n) => n?.kill("SIGTERM")));
  await redis.stop();
  return result;
}

async function throughputPhase(impl) {
  const redis = await PrivateRedis.start("0-1");
  const url = `redis://127.0.0.1:${redis.port}`;
  const key = `bench-tp-${impl}-${Date.now()}`;
  const nodes = [];
  const sockets = [];
  try {
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode(impl, url, key)))));
    let delivered = 0;
    for (const node of nodes) {
      for (let i = 0; i < 100; i++) {
        const s = ioc(`http://127.0.0.1:${node.port}`, { transports: ["websocket"], forceNew: true, auth: { room: "all" } });
        s.on("blast", () => delivered++);
        sockets.push(s);
      }
    }
    if (!(await until(() => sockets.every((s) => s.connected), 15000))) throw new Error("clients did not all connect within 15 s");
    // Every client must be in the room on its node before the window: one probe broadcast reaches them all.
    let probes = 0;
    for (const s of sockets) s.once("blast", () => probes++);
    await nodes[0].call("blast", { room: "all", perTurn: 1, everyMs: 10, ms: 15 });
    if (!(await until(() => probes === sockets.length, 10000))) throw new Error(`only ${probes} of ${sockets.length} clients got the probe broadcast`);
    const done = nodes[0].call("blast", { room: "all", perTurn: 5, everyMs: 10, ms: Number(process.env.BLAST_MS ?? 4000) });
    await sleep(1000);
    const cpu0 = await Promise.all(nodes.map((n) => n.call("cpu")));
    const r0 = redis.cpuSeconds();
    const d0 = delivered;
    const t0 = Date.now();
    await sleep(3000);
    const cpu1 = await Promise.all(nodes.map((n) => n.call("cpu")));
    const d1 = delivered;
    const secs = (Date.now() - t0) / 1000;
    const r1 = redis.cpuSeconds();
    const sent = await done;
    if (d1 === d0) throw new Error("no delivery in the window");
    const nodeCpuUs = cpu1.reduce((sum, c, i) => sum + (c.user + c.system) - (cpu0[i].user + cpu0[i].system), 0);
    const result = {
      impl,
      deliveriesPerSec: Math.round((d1 - d0) / secs),
      nodeCpuUsPerDelivery: +(nodeCpuUs / (d1 - d0)).toFixed(3),
      redisCpuUsPerDelivery: +(((r1 - r0) * 1e6) / (d1 - d0)).toFixed(3),
      broadcastsSent: sent,
    };
    log(`${impl} throughput:`, JSON.stringify(result));
    return result;
  } finally {
    for (const s of sockets) s.disconnect();
    await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
    await redis.stop();
  }
}

const phase = args.includes("--phase") ? args[args.indexOf("--phase") + 1] : "all";
const recovery = [];
const throughput = [];
if (phase !== "throughput") for (const impl of targets) recovery.push(await recoveryPhase(impl));
// Throughput: the targets alternate over the rounds (drift on the machine hits both); medians are reported.
const ROUNDS = quick ? 1 : 3;
const rounds = {};
if (phase !== "recovery") {
  for (let r = 0; r < ROUNDS; r++) {
    for (const impl of targets) {
      // A round whose setup failed (the machine is shared) is run again, at most twice.
      for (let attempt = 1; ; attempt++) {
        try {
          (rounds[impl] ??= []).push(await throughputPhase(impl));
          break;
        } catch (err) {
          log(`${impl} throughput round failed (${err.message})${attempt < 3 ? ", again" : ""}`);
          if (attempt === 3) throw err;
        }
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const impl of targets) {
    const rs = rounds[impl];
    throughput.push({
      impl,
      deliveriesPerSec: median(rs.map((x) => x.deliveriesPerSec)),
      nodeCpuUsPerDelivery: median(rs.map((x) => x.nodeCpuUsPerDelivery)),
      redisCpuUsPerDelivery: median(rs.map((x) => x.redisCpuUsPerDelivery)),
      rounds: rs,
    });
  }
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;
let md = `| target | clients | kills | reconnected | recovered every time | missed | duplicated | reordered | clients with loss |\n|---|---|---|---|---|---|---|---|---|\n`;
for (const r of recovery) md += `| ${r.impl} | ${r.clients} | ${r.kills} | ${r.reconnected} | ${pct(r.recoveredShare)} | ${r.missed} | ${r.duplicated} | ${r.reordered} | ${r.clientsWithLoss} |\n`;
md += `\n| target | cross-node deliveries/s (median, range) | node CPU µs/delivery (median, range) | redis-server CPU µs/delivery |\n|---|---|---|---|\n`;
const range = (t, k) => (t.rounds.length > 1 ? ` (${Math.min(...t.rounds.map((x) => x[k]))}–${Math.max(...t.rounds.map((x) => x[k]))})` : "");
for (const t of throughput) md += `| ${t.impl} | ${t.deliveriesPerSec}${range(t, "deliveriesPerSec")} | ${t.nodeCpuUsPerDelivery}${range(t, "nodeCpuUsPerDelivery")} | ${t.redisCpuUsPerDelivery} |\n`;
if (throughput.length === 2) {
  const [tw, sio] = throughput;
  md += `\nRatios tidewire / socket.io: throughput ${(tw.deliveriesPerSec / sio.deliveriesPerSec).toFixed(2)}x, node CPU per delivery ${(tw.nodeCpuUsPerDelivery / sio.nodeCpuUsPerDelivery).toFixed(2)}x\n`;
}
console.log(md);
const dir = fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}recovery-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, JSON.stringify({ recovery, throughput }, null, 2));
process.exit(0);
