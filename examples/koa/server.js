// Koa + tidewire: attach to the http.Server built from app.callback().
import http from "node:http";
import { readFile } from "node:fs/promises";
import Koa from "koa";
import { Server } from "tidewire";
import { handleTweets } from "../shared/tweets.js";

const page = await readFile(new URL("../shared/tweet-page.html", import.meta.url), "utf8");

const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.method === "GET" && ctx.path === "/") {
    ctx.type = "html";
    ctx.body = page;
    return;
  }
  await next();
});

const server = http.createServer(app.callback());
const io = new Server(server);
handleTweets(io, "koa");

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
