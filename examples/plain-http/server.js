// Plain Node http + tidewire: no framework, one request handler for the page.
import http from "node:http";
import { readFile } from "node:fs/promises";
import { Server } from "tidewire";
import { handleTweets } from "../shared/tweets.js";

const page = await readFile(new URL("../shared/tweet-page.html", import.meta.url), "utf8");

// Requests under /socket.io/ never reach this handler: tidewire answers them.
const server = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end("Not Found");
});

const io = new Server(server);
handleTweets(io, "plain-http");

const port = Number.parseInt(process.env.PORT ?? "3000", 10);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  console.log(`listening on http://${host}:${server.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    io.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
