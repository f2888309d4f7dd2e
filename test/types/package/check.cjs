// @ts-check
// Plain JavaScript with checkJs: require("tidewire") as socket.io users write it.
const { createServer } = require("node:http");
const { Server } = require("tidewire");
const tidewire = require("tidewire");
const { createAdapter } = require("tidewire/redis");
const { streams } = require("tidewire/stream");

const io = new Server(createServer(), { pingInterval: 5000 });
const io2 = tidewire(createServer());
io2.adapter(createAdapter({}, {}));
io.on("connection", (socket) => {
  socket.emit("hello", 1);
  void streams(socket).listenerCount("x");
});
// @ts-expect-error pingInterval is a number
new Server({ pingInterval: "5s" });

module.exports = { io };
