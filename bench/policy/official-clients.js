// `count` idle official socket.io-client clients over WebSocket, for the idle
// memory figure with the official client (bench/policy/run.js --memory --official).
// Connects them 100 at a time, reports { connected } over IPC, then holds them.
import { io } from "socket.io-client";

const [port, count] = process.argv.slice(2).map(Number);
const clients = [];
for (let i = 0; i < count; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(count, i + 100); j++) {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
    clients.push(socket);
    batch.push(new Promise((resolve, reject) => socket.once("connect", resolve).once("connect_error", reject)));
  }
  await Promise.all(batch);
}
process.send({ connected: clients.filter((s) => s.connected).length });
process.on("disconnect", () => process.exit(0));
