// Express 5 + tidewire: attach to the http.Server that wraps the app.
import http from "node:http";
import { readFile } from "node:fs/promises";
import express from "express";
import { Server } from "tidewire";
import { handleTweets } from "../shared/tweets.js";

const page = await readFile(new URL("../shared/tweet-page.html", import.meta.url), "utf8");

const app = express();
app.get("/", (_req, res) => {
  res.type("html").send(page);
});

const server = http.createServer(app);
const io = new Server(server);
handleTweets(io, "express");

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
