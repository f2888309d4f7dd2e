/**
 * The drain with recovery across nodes: node A and node B on one Redis with
 * tidewire/redis-streams and connection state recovery, behind a
 * round-robin TCP proxy that follows their readiness. Official clients on
 * A, every one in a room that B broadcasts to all along. A drains: every
 * client moves to B, recovered, without an error, and every room broadcast
 * sent before, during and after the drain arrives exactly once, in order.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { Server } from "../../../src/index.js";
import { createAdapter } from "../../../src/redis-streams/index.js";
import { closeAll, closeHttpServer, listen, onClose, waitFor, withTimeout } from "../../helpers/io.js";
// @ts-expect-error plain JS helper shared with bench/
import { startProxy } from "../../../bench/lib/rr-proxy.js";

const require = createRequire(import.meta.url);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

afterEach(closeAll, 30_000);

async function node(name: string) {
  const { createClient } = require("redis");
  const redis = createClient({ url: REDIS_URL });
  redis.on("error", () => undefined);
  await redis.connect();
  let io!: Server;
  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/ready") return io.readyHandler(req, res);
    res.writeHead(404);
    res.end();
  });
  io = new Server(httpServer, {
    adapter: createAdapter(redis, { streamName: `${name}-stream`, channelPrefix: `${name}-ch`, sessionKeyPrefix: `${name}:session:` }),
    connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
  });
  onClose(async () => {
    await withTimeout(io.close(), 5000, "io.close()").catch(() => undefined);
    await closeHttpServer(httpServer);
    await redis.quit().catch(() => undefined);
  });
  const port = await listen(httpServer);
  await io.of("/").adapter.init();
  return { io, port };
}

const until = async (what: string, ms: number, done: () => boolean) =>
  withTimeout(
    (async () => {
      while (!done()) await new Promise((r) => setTimeout(r, 20));
    })(),
    ms,
    what,
  );

describe("drain with recovery across nodes (tidewire/redis-streams, real Redis)", () => {
  it("every client moves to B, recovered, and gets every room broadcast exactly once, in order", { timeout: 60_000 }, async () => {
    const name = `tw-drain-${process.pid}-${Date.now()}`;
    const a = await node(name);
    const b = await node(name);
    for (const n of [a, b]) n.io.on("connection", (s: any) => s.join("room"));
    const proxy = await startProxy({ backends: [{ port: a.port }], checkMs: 50 });
    onClose(() => proxy.close());

    const n = 60;
    const clients: ClientSocket[] = [];
    const received: number[][] = [];
    const errors: string[] = [];
    for (let i = 0; i < n; i++) {
      const client = ioClient(`http://127.0.0.1:${proxy.port}`, { forceNew: true, transports: ["websocket"] });
      onClose(() => client.disconnect());
      const got: number[] = [];
      received.push(got);
      client.on("tick", (seq: number) => got.push(seq));
      client.on("connect_error", (err) => errors.push(`connect_error: ${err.message}`));
      client.on("disconnect", (reason) => {
        if (reason !== "transport close") errors.push(`disconnect: ${reason}`);
      });
      clients.push(client);
    }
    await withTimeout(Promise.all(clients.map((c) => waitFor(c, "connect", 10_000))), 15_000, "clients connected");
    expect(a.io.engine.clientsCount).toBe(n);
    proxy.setBackends([{ port: a.port }, { port: b.port }]);
    await proxy.check();

    // B broadcasts to the room all along: before, during and after A's drain.
    let seq = 0;
    const ticker = setInterval(() => b.io.to("room").emit("tick", seq++), 20);
    onClose(() => clearInterval(ticker));
    await until("a first tick everywhere", 10_000, () => received.every((got) => got.length > 0));
    const atDrain = seq;
    await withTimeout(a.io.drain({ durationMs: 1500 }), 15_000, "drain");
    await until("every client on B", 15_000, () => b.io.engine.clientsCount === n && clients.every((c) => c.connected));
    await new Promise((r) => setTimeout(r, 200));
    clearInterval(ticker);
    const sent = seq;
    expect(sent - atDrain).toBeGreaterThan(30);
    await until("every tick delivered", 10_000, () => received.every((got) => got[got.length - 1] === sent - 1));

    expect(a.io.engine.clientsCount).toBe(0);
    expect(errors).toEqual([]);
    for (const c of clients) expect(c.recovered).toBe(true);
    for (const got of received) {
      const first = got[0];
      expect(got).toEqual(Array.from({ length: sent - first }, (_, i) => first + i));
    }
  });
});
