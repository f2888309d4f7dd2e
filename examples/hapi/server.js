// Hapi 21 + tidewire: attach to hapiServer.listener before hapiServer.start().
import { readFile } from "node:fs/promises";
import Hapi from "@hapi/hapi";
import { Server } from "tidewire";
import { handleTweets } from "../shared/tweets.js";

const page = await readFile(new URL("../shared/tweet-page.html", import.meta.url), "utf8");

const hapi = Hapi.server({
  port: Number.parseInt(process.env.PORT ?? "3000", 10),
  host: process.env.HOST ?? "127.0.0.1",
});
hapi.route({
  method: "GET",
  path: "/",
  handler: (_request, h) => h.response(page).type("text/html"),
});

const io = new Server(hapi.listener);
handleTweets(io, "hapi");

await hapi.start();
console.log(`listening on http://${hapi.info.host}:${hapi.info.port}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    setTimeout(() => process.exit(0), 2000).unref();
    await io.close();
    await hapi.stop({ timeout: 1000 });
    process.exit(0);
  });
}
