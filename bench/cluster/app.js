// The application of bench/cluster.js on node:cluster: `node bench/cluster/app.js <target> <workers>`.
//   tidewire:  setupPrimary() from tidewire/cluster; workers listen on one port
//              (node:cluster's round-robin) with createAdapter() from tidewire/cluster.
//   socket.io: @socket.io/sticky's primary holds the port and routes connections by
//              session id; workers run socket.io with @socket.io/cluster-adapter and
//              setupWorker(io); the cluster adapter's setupPrimary() routes its messages.
// Same handlers as bench/server.js for the scenarios used (echo, join, burst).
// IPC with the bench: `{type: "ready", port}`; `{id, cmd: "cpu"}` answers the CPU
// seconds used so far by the primary and every worker, summed.
import cluster from "node:cluster";
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [target, workersArg] = process.argv.slice(2);
const workerCount = Number(workersArg);
const MAX_BURST = 100;
const TICK_PAYLOAD = Object.freeze({ kind: "tick", text: "hello room", ok: true });
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

if (cluster.isPrimary) {
  process.on("disconnect", () => process.exit(0));
  let port = 0;
  if (target === "tidewire") {
    const { setupPrimary } = await import("../../dist/cluster.js");
    setupPrimary({ serialization: "advanced" });
  } else {
    cluster.setupPrimary({ serialization: "advanced" });
    require("@socket.io/cluster-adapter").setupPrimary();
    const httpServer = http.createServer();
    require("@socket.io/sticky").setupPrimary(httpServer, { loadBalancingMethod: "least-connection" });
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    port = httpServer.address().port;
  }
  const workers = Array.from({ length: workerCount }, () => cluster.fork());
  let ready = 0;
  const cpuReplies = new Map();
  for (const worker of workers) {
    worker.on("message", (msg) => {
      if (msg?.bench === "ready") {
        if (msg.port) port = msg.port;
        if (++ready === workers.length) process.send({ type: "ready", port });
      } else if (msg?.bench === "cpu") cpuReplies.get(msg.id)?.(msg.cpu);
    });
  }
  let nextId = 0;
  process.on("message", async (msg) => {
    if (msg?.cmd !== "cpu") return;
    const parts = await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            const id = nextId++;
            cpuReplies.set(id, (cpu) => (cpuReplies.delete(id), resolve(cpu)));
            w.send({ bench: "cpu", id });
          }),
      ),
    );
    process.send({ id: msg.id, cpu: parts.reduce((a, b) => a + b, cpuSeconds()) });
  });
} else {
  const httpServer = http.createServer();
  let io;
  if (target === "tidewire") {
    const { Server } = await import("../../dist/index.js");
    const { createAdapter } = await import("../../dist/cluster.js");
    io = new Server(httpServer, { adapter: createAdapter() });
  } else {
    const { Server } = require("socket.io");
    io = new Server(httpServer, { adapter: require("@socket.io/cluster-adapter").createAdapter() });
    require("@socket.io/sticky").setupWorker(io);
  }
  io.on("connection", (socket) => {
    socket.on("echo", (data, ack) => ack(data));
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack();
    });
    socket.on("burst", (from, count) => {
      const n = Math.min(count, MAX_BURST);
      for (let i = 0; i < n; i++) io.to("fan").emit("tick", from + i, TICK_PAYLOAD);
    });
  });
  process.on("message", (msg) => {
    if (msg?.bench === "cpu") process.send({ bench: "cpu", id: msg.id, cpu: cpuSeconds() });
  });
  await io.of("/").adapter.init?.();
  if (target === "tidewire") {
    httpServer.listen(0, "127.0.0.1", () => process.send({ bench: "ready", port: httpServer.address().port }));
  } else {
    process.send({ bench: "ready" });
  }
}
