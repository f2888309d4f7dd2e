/**
 * A drain with connection-state recovery, behind a load balancer: node A
 * drains, its clients reconnect through a round-robin TCP proxy (which
 * follows the nodes' readiness) to node B, and every room broadcast A sent
 * during the drain arrives exactly once, in order: those A flushed before
 * the transport closed, and the rest replayed from the saved session.
 *
 * Recovery across nodes needs a session store both nodes read. Here node B's
 * adapter reads node A's in-memory store (a real SessionAwareAdapter, shared
 * in the process); with tidewire/redis-streams the store is Redis.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { Adapter, Server } from "../../../src/index.js";
import { closeAll, closeHttpServer, listen, onClose, waitFor, waitForUpgrade, withTimeout } from "../../helpers/io.js";
// @ts-expect-error plain JS helper shared with bench/
import { startProxy } from "../../../bench/lib/rr-proxy.js";

afterEach(closeAll);

async function node(opts: Record<string, unknown>) {
  let io!: Server;
  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/ready") return io.readyHandler(req, res);
    res.writeHead(404);
    res.end();
  });
  io = new Server(httpServer, opts);
  onClose(async () => {
    await withTimeout(io.close(), 3000, "io.close()").catch(() => undefined);
    await closeHttpServer(httpServer);
  });
  const port = await listen(httpServer);
  return { io, port };
}

/** Node B's adapter: its own rooms and fan-out, node A's session store. */
function sharedStore(store: () => any) {
  return class extends Adapter {
    override persistSession(session: any) {
      store().persistSession(session);
    }
    override restoreSession(pid: string, offset: string) {
      return store().restoreSession(pid, offset);
    }
  };
}

describe("drain with connection-state recovery", () => {
  it("moves every client to the other node; room broadcasts sent during the drain arrive exactly once", { timeout: 40_000 }, async () => {
    const recovery = { connectionStateRecovery: { maxDisconnectionDuration: 30_000 } };
    const a = await node(recovery);
    const b = await node({ ...recovery, adapter: sharedStore(() => a.io.of("/").adapter) });
    for (const n of [a, b]) n.io.on("connection", (s: any) => s.join("room"));
    const proxy = await startProxy({ backends: [{ port: a.port }], checkMs: 25 });
    onClose(() => proxy.close());

    const n = 12;
    const clients: ClientSocket[] = [];
    const received: number[][] = [];
    const errors: string[] = [];
    for (let i = 0; i < n; i++) {
      const client = ioClient(`http://127.0.0.1:${proxy.port}`, {
        forceNew: true,
        transports: i % 2 === 0 ? ["websocket"] : ["polling", "websocket"],
        reconnectionDelay: 1000,
        randomizationFactor: 0.1,
      });
      onClose(() => client.disconnect());
      const got: number[] = [];
      received.push(got);
      client.on("tick", (seq: number) => got.push(seq));
      client.on("connect_error", (err) => errors.push(`connect_error: ${err.message}`));
      client.on("disconnect", (reason) => {
        if (reason !== "transport close") errors.push(`disconnect: ${reason}`);
      });
      await waitFor(client, "connect", 3000);
      // Polling needs sticky sessions, which a TCP proxy cannot give: node B joins the
      // proxy only once every client is on WebSocket (an upgrade still in flight could
      // otherwise reach B, which does not know the session).
      await waitForUpgrade(client, 5000);
      clients.push(client);
    }
    expect(a.io.engine.clientsCount).toBe(n);
    proxy.setBackends([{ port: a.port }, { port: b.port }]);
    await proxy.check();

    // Node A broadcasts to the room; once every client has an offset (socket.io-client only
    // sends the last offset it received: one that received nothing asks for a new session),
    // A drains over 400 ms while it keeps broadcasting.
    let seq = 0;
    const ticker = setInterval(() => a.io.to("room").emit("tick", seq++), 10);
    await withTimeout(
      (async () => {
        while (!received.every((got) => got.length > 0)) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      "a first tick everywhere",
    );
    // A's broadcasts reach only A's clients (and the log): the ticks stop when the first client
    // arrives on B, which is after A's last client left (at most 400 ms, then >= 900 ms of delay).
    b.io.on("connection", () => clearInterval(ticker));
    const atDrain = seq;
    await withTimeout(a.io.drain({ durationMs: 400 }), 5000, "drain");
    await withTimeout(waitFor(b.io, "connection", 8000), 9000, "a first client on B");
    clearInterval(ticker);
    const sent = seq;
    expect(sent - atDrain).toBeGreaterThan(10);

    // Every client comes back on B, recovered, with every tick exactly once.
    await withTimeout(
      Promise.all(clients.map((c) => (c.connected && c.recovered ? null : waitFor(c, "connect", 8000)))),
      10_000,
      "every client reconnected",
    );
    expect(b.io.engine.clientsCount).toBe(n);
    expect(a.io.engine.clientsCount).toBe(0);
    for (const c of clients) expect(c.recovered).toBe(true);
    const all = Array.from({ length: sent }, (_, i) => i);
    await withTimeout(
      (async () => {
        while (!received.every((got) => got.length >= sent)) await new Promise((r) => setTimeout(r, 20));
      })(),
      3000,
      "every tick replayed",
    ).catch(() => undefined);
    for (const got of received) expect(got).toEqual(all);
    expect(errors).toEqual([]);
  });
});
