// The "tweet" exchange shared by the framework examples: the server greets
// every new connection with a tweet, and accepts tweets back (acknowledged,
// logged, and passed on to the other connected pages).

const MAX_LENGTH = 280;

/**
 * @param {import("tidewire").Server} io
 * @param {string} source which framework serves this example, shown on the page
 */
export function handleTweets(io, source) {
  io.on("connection", (socket) => {
    socket.emit("tweet", { source, text: `Hello from ${source}! You are connected as ${socket.id}.` });

    socket.on("tweet", (tweet, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      const text = typeof tweet?.text === "string" ? tweet.text.trim() : "";
      if (text.length === 0 || text.length > MAX_LENGTH) {
        return reply({ ok: false, error: `a tweet is 1 to ${MAX_LENGTH} characters of text` });
      }
      console.log(`tweet from ${socket.id}: ${text}`);
      socket.broadcast.emit("tweet", { source: "browser", text });
      reply({ ok: true, receivedAt: Date.now() });
    });
  });
}
