// The tidewire chat demo: an Express app serving a static page, with the
// realtime server attached to the same http.Server.
//
//   npm start                      (from the repository root, after npm run build)
//   PORT=8080 node examples/chat/server.js
import http from "node:http";
import { fileURLToPath } from "node:url";
import express from "express";
import { Server } from "tidewire";
import { attachChat } from "./chat.js";

const app = express();
app.use(express.static(fileURLToPath(new URL("./public/", import.meta.url))));
app.get("/healthz", (_req, res) => {
  res.json({ ok: true, clients: io.engine.clientsCount });
});

const server = http.createServer(app);
// In-memory adapter (the default). maxHttpBufferSize leaves room for a
// 512 KiB attachment even when it travels base64-encoded over polling.
const io = new Server(server, { maxHttpBufferSize: 1e6 });
attachChat(io);

const port = Number.parseInt(process.env.PORT ?? "3000", 10);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  const address = server.address();
  console.log(`listening on http://${host}:${address.port}`);
});

function shutdown() {
  io.close(() => process.exit(0));
  // Browsers may hold keep-alive connections open; do not wait for them long.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
