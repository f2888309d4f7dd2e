// The tidewire chat demo: an Express app serving a static page, with the
// realtime server attached to the same http.Server.
//
//   npm start                      (from the repository root; builds tidewire first)
//   PORT=8080 npm start
//   CHAT_HISTORY_FILE=/tmp/chat.json npm start
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
// Connection state recovery: a page that lost its connection for up to two
// minutes gets its session back (same socket id, rooms and data) and the
// broadcasts it missed meanwhile.
const io = new Server(server, {
  maxHttpBufferSize: 1e6,
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
});

// The room history survives restarts in a small JSON file (bounded: see
// history.js); CHAT_HISTORY_FILE="" keeps it in memory only.
const historyFile =
  process.env.CHAT_HISTORY_FILE ?? fileURLToPath(new URL("./data/history.json", import.meta.url));
const { history } = attachChat(io, { historyFile: historyFile || null });

const port = Number.parseInt(process.env.PORT ?? "3000", 10);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  const address = server.address();
  const where = historyFile ? `${history.size} messages of room history in ${historyFile}` : "room history in memory only";
  console.log(`listening on http://${host}:${address.port} (${where})`);
  if (host === "0.0.0.0" || host === "::") console.log(`open http://127.0.0.1:${address.port} here, or this machine's address from elsewhere`);
});

function shutdown() {
  history.flush();
  io.close(() => {
    history.flush();
    process.exit(0);
  });
  // Browsers may hold keep-alive connections open; do not wait for them long.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
