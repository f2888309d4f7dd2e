// The policy measurement of issue 17 (not part of `npm run bench`): what the
// `limits` option and validated events cost, against the same server with
// neither, on bench/'s echo-ack load (200 WebSocket clients x 10 acks in
// flight) and idle-memory load (5,000 idle WebSocket clients).
//
//   node bench/policy/run.js                          echo-ack: off, limits, zod, valibot
//   node bench/policy/run.js --rounds 7 --duration 3000
//   node bench/policy/run.js --variants off,limits
//   node bench/policy/run.js --memory                 heap per idle connection: off, limits
//   node bench/policy/run.js --memory --official      the same with 5,000 official socket.io-client clients
//   node bench/policy/run.js --memory --base-dist /path/to/other/dist   adds "base": another build, variant off
//
// Method (as bench/run.js): the server pinned to core 0 (`taskset`, with
// --expose-gc), the load generator (bench/load/worker.js) on core 1; the
// variants alternate within each round, in a rotated order, so drift on a
// shared machine hits them alike. Echo: warm-up 500 ms, then a window whose
// server CPU (user + system) per ack is reported, median and range over the
// rounds, and as a ratio to "off". Memory: 50 warm-up clients, then 5,000
// more; heap after forced GC, minus the baseline, per connection.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PinnedChild, pinSelf } from "../lib/children.js";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const memoryMode = flag("--memory");
const official = flag("--official");
const rounds = Number(value("--rounds", memoryMode ? 3 : 5));
const durationMs = Number(value("--duration", 2000));
const baseDist = value("--base-dist", null);
const variants = value("--variants", memoryMode ? "off,limits" : "off,limits,zod,valibot").split(",");
if (baseDist) variants.push("base");

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startServer(variant) {
  const argv = variant === "base" ? ["off", baseDist] : [variant];
  return new PinnedChild(`server ${variant}`, SERVER_CORE, "policy/server.js", argv, { nodeArgs: ["--expose-gc"] });
}

async function runOnce(variant) {
  const server = startServer(variant);
  const worker = new PinnedChild("load", LOAD_CORE, "load/worker.js", []);
  try {
    const { port } = await server.ready;
    await worker.ready;
    if (memoryMode && official) {
      await server.request("mark", { gc: true });
      const clients = fork(fileURLToPath(new URL("./official-clients.js", import.meta.url)), [String(port), "5000"]);
      try {
        const { connected } = await new Promise((resolve, reject) => {
          clients.once("message", resolve);
          clients.once("exit", (code) => reject(new Error(`official clients exited (${code})`)));
        });
        if (connected !== 5000) throw new Error(`only ${connected} official clients connected`);
        const s = await server.request("end", { gc: true }, 60000);
        return { value: (s.after.heapUsed - s.baseline.heapUsed) / connected / 1024, units: connected };
      } finally {
        clients.kill("SIGKILL");
      }
    }
    if (memoryMode) {
      const params = { clients: 5000, warmup: 50, concurrency: 50, timeoutMs: 60000 };
      await worker.request("setup", { scenario: "idle-memory", port, params, index: 0, count: 1 }, 60000);
      await server.request("mark", { gc: true });
      await worker.request("mark", {});
      await worker.request("start", {}, 120000);
      const load = await worker.request("end");
      const s = await server.request("end", { gc: true }, 60000);
      if (load.errors) throw new Error(`load errors: ${load.errorSamples.join("; ")}`);
      return { value: (s.after.heapUsed - s.baseline.heapUsed) / load.units / 1024, units: load.units };
    }
    const params = { clients: 200, concurrency: 100, inFlight: 10 };
    await worker.request("setup", { scenario: "echo-ack", port, params, index: 0, count: 1 }, 60000);
    await worker.request("start");
    await sleep(500);
    await Promise.all([server.request("mark"), worker.request("mark", {})]);
    await sleep(durationMs);
    const [s, load] = await Promise.all([server.request("end"), worker.request("end")]);
    await worker.request("stop");
    if (load.errors) throw new Error(`load errors: ${load.errorSamples.join("; ")}`);
    const cpu = ((s.cpuUser + s.cpuSystem) * load.elapsedMs) / s.elapsedMs;
    return { value: (cpu * 1e6) / load.units, units: load.units, acksPerS: load.units / (load.elapsedMs / 1000) };
  } finally {
    await Promise.all([worker.stop(), server.stop()]);
  }
}

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await pinSelf(LOAD_CORE);
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < rounds; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length]);
  for (const variant of order) {
    const run = await runOnce(variant);
    results[variant].push(run);
    const rate = run.acksPerS ? `, ${Math.round(run.acksPerS)} acks/s` : "";
    console.error(`round ${r + 1}/${rounds} ${variant}: ${run.value.toFixed(3)} ${memoryMode ? "KiB/connection" : "µs CPU/ack"}${rate}`);
  }
}

const unit = memoryMode ? "heap KiB/connection" : "server CPU µs/ack";
const reference = median(results.off.map((r) => r.value));
console.log(`\n| variant | ${unit}: median | min–max | ratio to off | runs |`);
console.log("|---|---|---|---|---|");
for (const variant of variants) {
  const values = results[variant].map((r) => r.value);
  const m = median(values);
  console.log(
    `| ${variant} | ${m.toFixed(3)} | ${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)} | ${(m / reference).toFixed(3)} | ${values.map((x) => x.toFixed(2)).join(", ")} |`,
  );
}
