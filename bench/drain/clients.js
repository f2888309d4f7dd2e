// Official socket.io-client clients (WebSocket) for the drain measurement,
// through the proxy. Each records its connect errors, disconnect reasons and
// the sequence numbers of the room broadcasts it received.
import { io as connect } from "socket.io-client";

const [port, count] = process.argv.slice(2).map(Number);
const clients = [];
const errors = {};
const reasons = {};
const note = (table, key) => (table[key] = (table[key] ?? 0) + 1);

for (let i = 0; i < count; i += 100) {
  const group = [];
  for (let j = i; j < Math.min(count, i + 100); j++) {
    const socket = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
    const entry = { socket, seen: new Map() };
    socket.on("connect_error", (err) => note(errors, `connect_error: ${err.message}`));
    socket.on("disconnect", (reason) => note(reasons, reason));
    socket.on("tick", (n) => entry.seen.set(n, (entry.seen.get(n) ?? 0) + 1));
    clients.push(entry);
    group.push(new Promise((resolve) => socket.once("connect", resolve)));
  }
  await Promise.all(group);
}

process.on("message", (msg) => {
  const reply = (data) => process.send({ id: msg.id, ...data });
  if (msg.cmd === "state") return reply({ connected: clients.filter((c) => c.socket.connected).length });
  if (msg.cmd === "report") {
    // Ticks in [from, to): how many each client missed, and how many it got twice.
    let missing = 0;
    let duplicates = 0;
    let complete = 0;
    for (const { seen } of clients) {
      let miss = 0;
      for (let n = msg.from; n < msg.to; n++) {
        const times = seen.get(n) ?? 0;
        if (times === 0) miss++;
        if (times > 1) duplicates += times - 1;
      }
      missing += miss;
      if (miss === 0) complete++;
    }
    const recovered = clients.filter((c) => c.socket.recovered).length;
    return reply({ errors, reasons, missing, duplicates, complete, recovered });
  }
  if (msg.cmd === "exit") {
    for (const { socket } of clients) socket.disconnect();
    reply({});
    setTimeout(() => process.exit(0), 100);
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true });
