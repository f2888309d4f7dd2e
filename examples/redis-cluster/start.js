// Starts three tidewire nodes sharing one Redis, on ports PORT_BASE,
// PORT_BASE+1 and PORT_BASE+2 (default 3001-3003):
//   node examples/redis-cluster/start.js
//   REDIS_URL=redis://10.0.0.5:6379 PORT_BASE=4000 node examples/redis-cluster/start.js
// Ctrl-C stops them all; if one node dies, the others are stopped too.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const NODES = 3;
const base = Number.parseInt(process.env.PORT_BASE ?? "3001", 10);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const script = fileURLToPath(new URL("./server.js", import.meta.url));

const children = [];
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    process.exit(code);
  }, 3000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null))).then(() => process.exit(code));
}

console.log(`Redis: ${redisUrl}`);
for (let i = 1; i <= NODES; i++) {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(base + i - 1), NODE_NAME: `node-${i}`, REDIS_URL: redisUrl },
    stdio: "inherit",
  });
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`node-${i} exited (${signal ?? code}); stopping the cluster`);
    stopAll(1);
  });
  children.push(child);
}
const host = process.env.HOST ?? "127.0.0.1";
console.log(`Open http://${host}:${base}, http://${host}:${base + 1} and http://${host}:${base + 2} in different tabs.`);

for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => stopAll(0));
