// One server node of the drain measurement: tidewire (built dist) on
// tidewire/redis or tidewire/redis-streams (with recovery), a readiness route for the proxy, every socket in "room".
// Commands over IPC: "drain" (resolves with the drain's duration), "tick"
// (broadcast a sequence number to the room every `everyMs`), "untick",
// "report" (connection and session-close timestamps, counts), "exit".
import http from "node:http";
import { createClient } from "redis";
import { Server } from "../../dist/index.js";
import { createAdapter } from "../../dist/redis.js";
import { createAdapter as createStreamsAdapter } from "../../dist/redis-streams.js";

const [name, redisPort, key, kind] = process.argv.slice(2);
const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
// "redis": classic pub/sub (no sessions); "redis-streams": streams, with recovery across nodes.
const adapterOptions =
  kind === "redis-streams"
    ? {
        adapter: createStreamsAdapter(pub, { streamName: `${key}-stream`, channelPrefix: `${key}-ch`, sessionKeyPrefix: `${key}:session:` }),
        connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
      }
    : { adapter: createAdapter(pub, sub, { key }) };

let io;
const httpServer = http.createServer((req, res) => {
  if (req.url === "/ready") return io.readyHandler(req, res);
  res.writeHead(404);
  res.end();
});
io = new Server(httpServer, adapterOptions);
const connectedAt = [];
const closedAt = [];
io.on("connection", (socket) => {
  connectedAt.push(Date.now());
  socket.join("room");
});
io.engine.on("connection", (session) => session.once("close", () => closedAt.push(Date.now())));
await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
await io.of("/").adapter.init();

let ticker = null;
let seq = 0;
process.on("message", async (msg) => {
  const reply = (data) => process.send({ id: msg.id, ...data });
  switch (msg.cmd) {
    case "drain": {
      const start = Date.now();
      await io.drain(msg.opts);
      return reply({ ms: Date.now() - start });
    }
    case "tick":
      ticker = setInterval(() => io.to("room").emit("tick", seq++), msg.everyMs);
      return reply({});
    case "untick":
      clearInterval(ticker);
      return reply({ sent: seq });
    case "report":
      return reply({ connectedAt, closedAt, clients: io.engine.clientsCount, stats: io.stats() });
    case "exit":
      await io.close();
      await pub.quit().catch(() => undefined);
      await sub.quit().catch(() => undefined);
      reply({});
      return process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true, port: httpServer.address().port });
