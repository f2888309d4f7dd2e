/**
 * The drain measurement at CI size (bench/drain/run.js runs it with 2,000
 * clients over 10 s): official clients on node A (a third of them started
 * on polling and upgraded), node B on the same Redis (tidewire/redis), both
 * behind a round-robin TCP proxy that follows their readiness. A drains: every client ends up on B, none sees an error (no
 * connect_error, no disconnect other than "transport close"), and the
 * reconnections reaching B stay within batch + jitter in every 100 ms.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { Server } from "../../../src/index.js";
import { createAdapter } from "../../../src/redis/index.js";
import { closeAll, closeHttpServer, listen, onClose, waitFor, waitForUpgrade, withTimeout } from "../../helpers/io.js";
// @ts-expect-error plain JS helper shared with bench/
import { startProxy } from "../../../bench/lib/rr-proxy.js";
// @ts-expect-error plain JS helper shared with bench/
import { maxInWindow } from "../../../bench/drain/windows.js";

const require = createRequire(import.meta.url);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

afterEach(closeAll, 30_000);

async function node(key: string) {
  const { createClient } = require("redis");
  const pub = createClient({ url: REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  let io!: Server;
  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/ready") return io.readyHandler(req, res);
    res.writeHead(404);
    res.end();
  });
  io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key }) });
  onClose(async () => {
    await withTimeout(io.close(), 5000, "io.close()").catch(() => undefined);
    await closeHttpServer(httpServer);
    await pub.quit().catch(() => undefined);
    await sub.quit().catch(() => undefined);
  });
  const port = await listen(httpServer);
  await io.of("/").adapter.init();
  return { io, port };
}

describe("drain behind a load balancer, two nodes over real Redis", () => {
  it("300 clients move from A to B without an error, at most batch + jitter per 100 ms", { timeout: 60_000 }, async () => {
    const key = `tw-drain-${process.pid}-${Date.now()}`;
    const a = await node(key);
    const b = await node(key);
    const connectedAt: number[] = [];
    b.io.on("connection", () => connectedAt.push(Date.now()));
    const closedAt: number[] = [];
    a.io.engine.on("connection", (session: any) => session.once("close", () => closedAt.push(Date.now())));
    const proxy = await startProxy({ backends: [{ port: a.port }], checkMs: 50 });
    onClose(() => proxy.close());

    const n = 300;
    const clients: ClientSocket[] = [];
    const errors: string[] = [];
    for (let i = 0; i < n; i += 50) {
      const group: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(n, i + 50); j++) {
        const client = ioClient(`http://127.0.0.1:${proxy.port}`, {
          forceNew: true,
          transports: j % 3 === 0 ? ["polling", "websocket"] : ["websocket"],
        });
        onClose(() => client.disconnect());
        client.on("connect_error", (err) => errors.push(`connect_error: ${err.message}`));
        client.on("disconnect", (reason) => {
          if (reason !== "transport close") errors.push(`disconnect: ${reason}`);
        });
        clients.push(client);
        group.push(waitFor(client, "connect", 10_000));
      }
      await Promise.all(group);
    }
    expect(a.io.engine.clientsCount).toBe(n);
    // Polling needs sticky sessions, which a TCP proxy cannot give: B joins once every client runs on WebSocket.
    await withTimeout(Promise.all(clients.map((c) => waitForUpgrade(c, 5000))), 10_000, "upgrades");
    proxy.setBackends([{ port: a.port }, { port: b.port }]);
    await proxy.check();

    const durationMs = 3000;
    const batch = 10;
    const start = Date.now();
    await withTimeout(a.io.drain({ durationMs, batch }), 15_000, "drain");
    const drained = Date.now() - start;
    await withTimeout(
      (async () => {
        while (b.io.engine.clientsCount < n || !clients.every((c) => c.connected)) await new Promise((r) => setTimeout(r, 50));
      })(),
      10_000,
      "every client on B",
    );
    expect(a.io.engine.clientsCount).toBe(0);
    expect(b.io.engine.clientsCount).toBe(n);
    expect(clients.every((c) => c.connected)).toBe(true);
    expect(errors).toEqual([]);
    expect(drained).toBeGreaterThanOrEqual(durationMs * 0.8);
    // The closes, which the drain paces: at most a batch per 100 ms slot (+1 at a slot's edge; a
    // held-up event loop delays a batch rather than bunching two). Closing all at once puts all
    // 300 in the same 100 ms.
    expect(maxInWindow(closedAt, 100)).toBeLessThanOrEqual(batch * 2);
    // The reconnections B sees: the official client's own delay (500 to 1500 ms) spreads them
    // further; the loose bound allows for this process's stalls (300 clients, two servers and the
    // proxy share it), measured 26 quiet and up to ~40 under load.
    expect(maxInWindow(connectedAt, 100)).toBeLessThanOrEqual(batch * 6);
    expect(a.io.stats().sessionCloses.server_drain.websocket + a.io.stats().sessionCloses.server_drain.polling).toBe(n);
  });
});
