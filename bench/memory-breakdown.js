// What one idle WebSocket connection keeps on the server's heap, by kind of
// object: a heap snapshot before and after N connections (bench/server.js's
// idle-memory application: an `echo` handler per socket), diffed and divided
// by N. Complements the idle-memory scenario's totals when looking for what
// to trim.
//   npm run build && node bench/memory-breakdown.js [tidewire|socket.io|raw] [connections] [--top N]
// The server runs in a child process (--expose-gc, IPC, as bench/server.js
// always does); the clients are the scale scenario's lean clients, in this
// process, bound to 127.0.0.2. Everything is closed at the end.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectLean } from "./load/lean-ws-client.js";
import { runBounded } from "./load/connect.js";
import { killAllChildren, trackProcess } from "./lib/children.js";

const args = process.argv.slice(2);
let top = 30;
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else positional.push(args[i]);
}
const [target = "tidewire", countText = "2000"] = positional;
const count = Number(countText);
if (!["tidewire", "socket.io", "raw"].includes(target) || !Number.isInteger(count) || count < 1 || !Number.isInteger(top)) {
  console.error("usage: node bench/memory-breakdown.js [tidewire|socket.io|raw] [connections] [--top N]");
  process.exit(2);
}

const script = fileURLToPath(new URL(target === "raw" ? "./calibrate/raw-server.js" : "./server.js", import.meta.url));
const child = fork(script, target === "raw" ? ["idle-memory"] : [target, "idle-memory"], {
  execArgv: ["--expose-gc"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
trackProcess(child);
let nextId = 1;
const pending = new Map();
child.on("message", (msg) => {
  if (typeof msg?.id === "number" && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined) reject(new Error(msg.error));
    else resolve(msg.result);
  }
});
child.on("exit", (code) => {
  for (const { reject } of pending.values()) reject(new Error(`server exited (code ${code})`));
});
/** One IPC command to the server (bench/lib/server-ipc.js). */
function request(cmd, cmdArgs = {}) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    child.send({ id, cmd, args: cmdArgs });
  });
}

try {
  const { port } = await new Promise((resolve, reject) => {
    child.once("message", (msg) => (msg?.type === "ready" ? resolve(msg) : reject(new Error("unexpected first message"))));
    child.once("exit", (code) => reject(new Error(`server exited (code ${code})`)));
  });
  const onError = (err) => console.error(`client error: ${err?.message ?? err}`);
  // warm-up connections: lazily built server state is in the baseline
  await runBounded(20, 10, () => connectLean(port, onError, "127.0.0.2"), 30000);
  await request("heapBreakdown", { phase: "before" });
  const clients = await runBounded(count, 50, () => connectLean(port, onError, "127.0.0.2"), 120000);
  const result = await request("heapBreakdown", { phase: "after", connections: count, top });
  console.log(`${target}: ${count} idle connections; heapUsed after GC ${result.heapPerConnection.toFixed(0)} B/connection;`);
  console.log(`snapshot objects grown by more than 4 B/connection: ${result.shownBytes.toFixed(0)} B/connection (JIT code and other non-connection growth included)`);
  console.log("   B/conn  count/conn  kind");
  for (const row of result.rows) console.log(`${row.bytes.toFixed(0).padStart(9)}  ${row.count.toFixed(2).padStart(10)}  ${row.kind}`);
  for (const c of clients) c.close();
} finally {
  killAllChildren();
}
