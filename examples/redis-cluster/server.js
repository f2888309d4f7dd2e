// One node of the cluster: an http server with tidewire and the Redis adapter.
// Started three times by start.js; run alone with
//   PORT=3001 NODE_NAME=node-1 node examples/redis-cluster/server.js
import http from "node:http";
import { readFile } from "node:fs/promises";
import { createClient } from "redis";
import { Server } from "tidewire";
import { createAdapter } from "tidewire/redis";

const name = process.env.NODE_NAME ?? `node-${process.pid}`;
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const page = await readFile(new URL("./index.html", import.meta.url), "utf8");

// Two connections: one publishes, the other is put in subscriber mode.
// A capped backoff finds a restarted Redis again within a fraction of a second.
const pubClient = createClient({ url: redisUrl, socket: { reconnectStrategy: (n) => Math.min(n * 50, 500) } });
const subClient = pubClient.duplicate();
for (const client of [pubClient, subClient]) client.on("error", (err) => console.error(`[${name}] redis: ${err.message}`));
await Promise.all([pubClient.connect(), subClient.connect()]);

const server = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end("Not Found");
});

const io = new Server(server, { adapter: createAdapter(pubClient, subClient) });

/** Everyone online, on every node (fetchSockets asks the other nodes through Redis). */
async function roster() {
  const sockets = await io.fetchSockets();
  return sockets.map((s) => ({ id: s.id, nick: s.data.nick, node: s.data.node }));
}

io.on("connection", (socket) => {
  const nick = String(socket.handshake.auth?.nick ?? "").slice(0, 24) || `guest-${socket.id.slice(0, 4)}`;
  socket.data = { nick, node: name };
  socket.emit("welcome", { node: name, nick });
  // A broadcast from this node reaches the clients of every node.
  io.emit("presence", { nick, node: name, online: true });

  socket.on("chat", (text, ack) => {
    if (typeof text !== "string" || text.length === 0 || text.length > 500) return ack?.({ ok: false });
    io.emit("chat", { nick, node: name, text });
    ack?.({ ok: true });
  });

  socket.on("who", async (ack) => {
    if (typeof ack !== "function") return;
    try {
      ack({ ok: true, people: await roster() });
    } catch (err) {
      // e.g. a node stopped answering: fetchSockets fails after requestsTimeout.
      ack({ ok: false, error: err.message });
    }
  });

  socket.on("disconnect", () => io.emit("presence", { nick, node: name, online: false }));
});

// Nodes talk to each other too: each greets the others when it starts.
io.on("hello", (from) => console.log(`[${name}] ${from} joined the cluster`));
io.serverSideEmit("hello", name);

const port = Number.parseInt(process.env.PORT ?? "3001", 10);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  console.log(`[${name}] listening on http://${host}:${server.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    io.close(async () => {
      await Promise.allSettled([pubClient.quit(), subClient.quit()]);
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
