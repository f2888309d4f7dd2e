// One tidewire node on Redis for bench/cluster.js (the forwarded-request cost):
// `node bench/cluster/redis-node.js <redis port>`. IPC: `{type: "ready", port}`;
// `{id, cmd: "cpu"}` answers the CPU seconds used so far.
import http from "node:http";
import { createClient } from "redis";
import { Server } from "../../dist/index.js";
import { createAdapter } from "../../dist/redis.js";

process.on("disconnect", () => process.exit(0));
const pub = createClient({ url: `redis://127.0.0.1:${Number(process.argv[2])}` });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", () => {});
await Promise.all([pub.connect(), sub.connect()]);
const httpServer = http.createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
io.on("connection", (socket) => socket.on("echo", (data, ack) => ack(data)));
process.on("message", (msg) => {
  if (msg?.cmd !== "cpu") return;
  const u = process.cpuUsage();
  process.send({ id: msg.id, cpu: (u.user + u.system) / 1e6 });
});
await io.of("/").adapter.init();
httpServer.listen(0, "127.0.0.1", () => process.send({ type: "ready", port: httpServer.address().port }));
