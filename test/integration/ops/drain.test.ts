/**
 * io.drain(): refusals of new handshakes (polling and WebSocket: 503,
 * Retry-After, a JSON body, connection_error), readiness, closes spread over
 * the duration at the transport level (the official client reconnects by
 * itself, never "io server disconnect"), acks in flight settled first, and
 * io.close({ closeHttpServer: false }).
 */
import { createServer } from "node:http";
import { connect as netConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { Server } from "../../../src/index.js";
// @ts-expect-error plain JS helper shared with bench/
import { maxInWindow } from "../../../bench/drain/windows.js";
import {
  closeAll,
  closeHttpServer,
  connectPair,
  createClient,
  listen,
  MODES,
  onClose,
  rawRequest,
  waitFor,
  withTimeout,
} from "../../helpers/io.js";
import { startTidewire } from "../../helpers/tidewire-server.js";

afterEach(closeAll);

const server = (opts: Record<string, unknown> = {}) =>
  startTidewire(opts, (req, res) => {
    res.writeHead(404);
    res.end("app");
  });

/** A raw WebSocket handshake; resolves with the whole answer the server wrote before closing. */
function rawUpgrade(port: number, path: string): Promise<string> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = netConnect(port, "127.0.0.1", () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        );
      });
      let text = "";
      socket.on("data", (d) => (text += d.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    }),
    3000,
    "raw upgrade answer",
  );
}

describe("drain: refusals", () => {
  it("answers new polling handshakes 503 with Retry-After and a JSON body, reported by connection_error", async () => {
    const h = await server();
    const errors: any[] = [];
    h.io.engine.on("connection_error", (e: any) => errors.push(e));
    expect(h.io.ready).toBe(true);
    expect(h.io.draining).toBe(false);
    void h.io.drain({ durationMs: 1000, retryAfterS: 7 });
    expect(h.io.draining).toBe(true);
    expect(h.io.ready).toBe(false);
    const res = await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("7");
    expect(res.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(res.body.toString());
    expect(body).toMatchObject({ code: 503, cause: "server_drain", retryAfter: 7 });
    expect(body.message).toMatch(/draining/i);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 503, message: "Server draining", context: { cause: "server_drain", retryAfterS: 7 } });
    expect(h.io.engine.counters.handshakeRefusals.server_drain).toBe(1);
  });

  it("answers new WebSocket handshakes 503 the same way", async () => {
    const h = await server();
    const errors: any[] = [];
    h.io.engine.on("connection_error", (e: any) => errors.push(e));
    void h.io.drain({ durationMs: 1000, retryAfterS: 3 });
    const answer = await rawUpgrade(h.port, "/socket.io/?EIO=4&transport=websocket");
    expect(answer.startsWith("HTTP/1.1 503 Service Unavailable\r\n")).toBe(true);
    expect(answer).toContain("\r\nRetry-After: 3\r\n");
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({ code: 503, cause: "server_drain" });
    expect(errors.map((e) => e.code)).toEqual([503]);
  });

  it("an official client trying to connect gets connect_error, and no session is created", async () => {
    const h = await server();
    void h.io.drain({ durationMs: 100 });
    for (const mode of MODES) {
      const client = createClient(h, mode);
      const [err] = await waitFor(client, "connect_error", 3000);
      expect(err).toBeInstanceOf(Error);
    }
    expect(h.io.engine.clientsCount).toBe(0);
  });

  it("existing sessions may still upgrade while draining (an upgrade is not a handshake)", async () => {
    const h = await server();
    const { client, socket } = await connectPair(h, "upgrade", { waitUpgrade: false });
    void h.io.drain({ durationMs: 3000 });
    if (socket.conn.transport.name !== "websocket") await waitFor(socket.conn, "upgrade", 3000);
    expect(client.io.engine.transport.name).toBe("websocket");
  });

  it("readyHandler answers 200, then 503 with Retry-After while draining", async () => {
    const h = await server();
    const probe = createServer(h.io.readyHandler);
    onClose(() => closeHttpServer(probe));
    const port = await listen(probe);
    const before = await rawRequest(`http://127.0.0.1:${port}/ready`);
    expect(before.status).toBe(200);
    expect(JSON.parse(before.body.toString())).toEqual({ ready: true });
    void h.io.drain({ durationMs: 2000 });
    const during = await rawRequest(`http://127.0.0.1:${port}/ready`);
    expect(during.status).toBe(503);
    expect(during.headers["retry-after"]).toBe("2");
    expect(JSON.parse(during.body.toString())).toEqual({ ready: false, cause: "server_drain" });
  });

  it("checks its options", async () => {
    const h = await server();
    expect(() => h.io.drain({ durationMs: -1 })).toThrow(/durationMs/);
    expect(() => h.io.drain({ batch: 0 })).toThrow(/batch/);
    expect(h.io.draining).toBe(false);
  });
});

describe.each(MODES)("drain: existing clients over %s", (mode) => {
  it("closes them at the transport level, spread over the duration; they reconnect by themselves", async () => {
    const h = await server();
    const n = 8;
    const clients: ClientSocket[] = [];
    const serverReasons: Array<[string, any]> = [];
    h.io.on("connection", (s: any) => s.on("disconnect", (reason: string, details: any) => serverReasons.push([reason, details])));
    for (let i = 0; i < n; i++) {
      const { client } = await connectPair(h, mode, { reconnection: true, reconnectionDelay: 5000, randomizationFactor: 0 });
      clients.push(client);
    }
    const closedAt: number[] = [];
    const reasons: string[] = [];
    const disconnected = clients.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.on("disconnect", (reason) => {
            reasons.push(reason);
            closedAt.push(Date.now());
            resolve();
          }),
        ),
    );
    const start = Date.now();
    await withTimeout(h.io.drain({ durationMs: 800, batch: 2 }), 5000, "drain");
    const took = Date.now() - start;
    await withTimeout(Promise.all(disconnected), 3000, "every client's disconnect");
    expect(h.io.engine.clientsCount).toBe(0);
    expect(reasons).toEqual(new Array(n).fill("transport close"));
    // Spread: 4 slots of 200 ms, the closes do not all come at once.
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThan(250);
    expect(took).toBeLessThan(2500);
    expect(serverReasons.map(([r]) => r)).toEqual(new Array(n).fill("server shutting down"));
    for (const [, details] of serverReasons) expect(details.cause).toMatchObject({ code: "server_drain", transport: expect.any(String) });
    // The client's Manager schedules a reconnection (it would not after "io server disconnect").
    for (const c of clients) expect(c.active).toBe(true);
    for (const c of clients) c.disconnect();
  });
});

describe("drain: pacing", () => {
  it("a held-up event loop does not turn into a burst of closes: the backlog goes out a batch per slot", async () => {
    const h = await server();
    const closedAt: number[] = [];
    h.io.engine.on("connection", (s: any) => s.once("close", () => closedAt.push(Date.now())));
    for (let i = 0; i < 40; i++) await connectPair(h, "websocket");
    const drained = h.io.drain({ durationMs: 1000, batch: 4 });
    await new Promise((r) => setTimeout(r, 150));
    const until = Date.now() + 450;
    while (Date.now() < until); // the loop is held up: ~18 closes fall due meanwhile
    await withTimeout(drained, 5000, "drain");
    expect(closedAt).toHaveLength(40);
    expect(maxInWindow(closedAt, 100)).toBeLessThanOrEqual(8);
  });
});

describe("drain: delayMs", () => {
  it("refuses at once but closes the first client only after delayMs", async () => {
    const h = await server();
    const { client } = await connectPair(h, "websocket");
    const start = Date.now();
    const closed = waitFor(client, "disconnect", 3000);
    void h.io.drain({ durationMs: 0, delayMs: 300 });
    expect(h.io.ready).toBe(false);
    expect((await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`)).status).toBe(503);
    expect((await closed)[0]).toBe("transport close");
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
  });
});

describe("drain: acknowledgements in flight", () => {
  it("waits for the client's ack of a server emit, and for the application's ack of a client event", async () => {
    const h = await server();
    let serverAck: unknown;
    const answered = new Promise<void>((resolve) => {
      h.io.on("connection", (s: any) => {
        s.on("slow", (cb: (v: string) => void) => setTimeout(() => cb("late answer"), 300));
        s.emit("ask", (answer: string) => {
          serverAck = answer;
          resolve();
        });
      });
    });
    const client = createClient(h, "websocket", { reconnection: false });
    client.on("ask", (cb: (v: string) => void) => setTimeout(() => cb("client answer"), 250));
    await waitFor(client, "connect", 3000);
    const clientAck = client.emitWithAck("slow");
    await new Promise((r) => setTimeout(r, 20));
    const closed = waitFor(client, "disconnect", 3000);
    await withTimeout(h.io.drain({ durationMs: 0 }), 3000, "drain");
    await withTimeout(answered, 2000, "the client's ack");
    expect(serverAck).toBe("client answer");
    await expect(clientAck).resolves.toBe("late answer");
    expect((await closed)[0]).toBe("transport close");
  });

  it("closes anyway after ackTimeoutMs when an ack never comes", async () => {
    const h = await server();
    h.io.on("connection", (s: any) => s.emit("never", () => undefined));
    const client = createClient(h, "websocket");
    client.on("never", () => undefined);
    await waitFor(client, "connect", 3000);
    await new Promise((r) => setTimeout(r, 20));
    const start = Date.now();
    await withTimeout(h.io.drain({ durationMs: 0, ackTimeoutMs: 300 }), 3000, "drain");
    expect(Date.now() - start).toBeGreaterThanOrEqual(280);
  });
});

describe("drain: lifecycle", () => {
  it("resolves at once without clients, returns the same promise when called again, and io.close() ends it", async () => {
    const h = await server();
    await withTimeout(h.io.drain({ durationMs: 10_000 }), 1000, "empty drain");
    const h2 = await server();
    await connectPair(h2, "websocket");
    const p = h2.io.drain({ durationMs: 60_000 });
    expect(h2.io.drain()).toBe(p);
    await h2.io.close();
    await withTimeout(p, 2000, "drain ended by close");
  });

  it("drain() before attach stays out of service", async () => {
    const io = new Server();
    await withTimeout(io.drain(), 1000, "drain");
    expect(io.ready).toBe(false);
    await io.close();
  });
});

describe("close({ closeHttpServer: false })", () => {
  it("closes tidewire alone: the app's HTTP server keeps serving, also under the engine's path", async () => {
    const h = await server();
    const { client } = await connectPair(h, "websocket");
    const gone = waitFor(client, "disconnect", 3000);
    let called = false;
    await h.io.close({ closeHttpServer: false }, () => (called = true));
    expect(called).toBe(true);
    expect((await gone)[0]).toBe("transport close");
    expect(h.httpServer.listening).toBe(true);
    const app = await rawRequest(`${h.url}/other`);
    expect(app.body.toString()).toBe("app");
    const engine = await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`);
    expect(engine.status).toBe(404);
    expect(engine.body.toString()).toBe("app");
    const bundle = await rawRequest(`${h.url}/socket.io/socket.io.js`);
    expect(bundle.status).toBe(404);
    expect(h.io.ready).toBe(false);
  });

  it("io.close() still closes the HTTP server, as socket.io", async () => {
    const h = await server();
    await h.io.close();
    expect(h.httpServer.listening).toBe(false);
  });
});
