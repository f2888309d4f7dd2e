// Fastify 5 + tidewire: attach to fastify.server once Fastify is ready.
import { readFile } from "node:fs/promises";
import Fastify from "fastify";
import { Server } from "tidewire";
import { handleTweets } from "../shared/tweets.js";

const page = await readFile(new URL("../shared/tweet-page.html", import.meta.url), "utf8");

const fastify = Fastify();
fastify.get("/", async (_request, reply) => {
  return reply.type("text/html").send(page);
});

await fastify.ready();
const io = new Server(fastify.server);
handleTweets(io, "fastify");

const host = process.env.HOST ?? "127.0.0.1";
await fastify.listen({ port: Number.parseInt(process.env.PORT ?? "3000", 10), host });
console.log(`listening on http://${host}:${fastify.server.address().port}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    setTimeout(() => process.exit(0), 2000).unref();
    await io.close();
    await fastify.close();
    process.exit(0);
  });
}
