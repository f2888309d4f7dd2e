/**
 * Admission control with official clients and raw handshakes: per-address
 * handshake rate and open connections (429 + Retry-After, other addresses
 * unaffected), the global handshake rate (503), the client address behind
 * a trusted proxy, load shedding while the event loop is overloaded (503;
 * connected clients keep being served; it stops by itself), the counters
 * and the metrics, and bounded per-address memory under a flood of
 * distinct addresses.
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { registerMetrics } from "../../../src/observe/prometheus.js";
import { closeAll, rawRequest, waitFor, withTimeout } from "../../helpers/io.js";
import { ask, connectFrom, startServer, type PolicyServer } from "./helpers.js";

afterEach(closeAll);

/** A polling handshake from the test process, with optional headers. */
function pollingHandshake(h: PolicyServer, headers: Record<string, string> = {}) {
  return rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`, { headers });
}

/** A raw WebSocket handshake from `localAddress`; resolves with the response head and body. */
function wsHandshake(h: PolicyServer, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; head: string; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: h.port, localAddress });
      let text = "";
      socket.on("error", reject);
      socket.on("connect", () => {
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
        socket.write(
          "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n",
        );
      });
      socket.on("data", (chunk) => {
        text += chunk.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        if (end === -1) return;
        const status = Number(text.slice(9, 12));
        if (status === 101) {
          socket.destroy();
          return resolve({ status, head: text.slice(0, end), body: "" });
        }
        socket.once("close", () => resolve({ status, head: text.slice(0, end), body: text.slice(end + 4) }));
      });
    }),
    4000,
    "raw websocket handshake",
  );
}

describe("admission", () => {
  it("handshakesPerAddress: past the burst an address gets 429 with Retry-After and a JSON body; other addresses are unaffected", async () => {
    const h = await startServer({ limits: { handshakesPerAddress: { rate: 0.5, burst: 3 } } });
    const errors: any[] = [];
    h.io.engine.on("connection_error", (e: any) => errors.push(e));
    for (let i = 0; i < 3; i++) await connectFrom(h, "127.0.0.2");
    await expect(connectFrom(h, "127.0.0.2")).rejects.toThrow(/connect_error/);
    const raw = await wsHandshake(h, "127.0.0.2");
    expect(raw.status).toBe(429);
    expect(raw.head).toMatch(/\r\nRetry-After: [12]\r\n/);
    expect(JSON.parse(raw.body)).toMatchObject({ code: 429, cause: "address_handshake_rate", retryAfter: expect.any(Number) });
    // Polling from 127.0.0.1 and WebSocket from 127.0.0.3 go on.
    expect((await pollingHandshake(h)).status).toBe(200);
    for (let i = 0; i < 3; i++) await connectFrom(h, "127.0.0.3");
    expect(errors.map((e) => e.code)).toEqual([429, 429]);
    expect(errors[0]).toMatchObject({ message: "Too many requests", context: { name: "HANDSHAKE_REFUSED", cause: "address_handshake_rate" } });
    expect(h.io.stats().handshakeRefusals).toMatchObject({ address_handshake_rate: 2, server_drain: 0 });
  });

  it("connectionsPerAddress: a third open connection is refused with 429; once one closes, the address may connect again", async () => {
    const h = await startServer({ limits: { connectionsPerAddress: 2 } });
    const a = await connectFrom(h, "127.0.0.2");
    await connectFrom(h, "127.0.0.2");
    const refused = await pollingHandshakeFrom(h, "127.0.0.2");
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 429, cause: "address_connections", retryAfter: 5 });
    expect(refused.head).toMatch(/\r\nRetry-After: 5\r\n/);
    await connectFrom(h, "127.0.0.4");
    const [session] = Object.values(h.io.engine.clients).filter((s: any) => s.id === a.io.engine.id) as any[];
    const closed = waitFor(session, "close");
    a.disconnect();
    a.io.engine.close();
    await closed;
    await connectFrom(h, "127.0.0.2");
    expect(h.io.stats().handshakeRefusals.address_connections).toBe(1);
  });

  it("the global handshake rate answers 503 (another node may take the client) to every address", async () => {
    const h = await startServer({ limits: { handshakes: { rate: 0.5, burst: 2 } } });
    await connectFrom(h, "127.0.0.2");
    await connectFrom(h, "127.0.0.3");
    const refused = await pollingHandshake(h);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("2");
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 503, cause: "handshake_rate" });
    expect(h.io.stats().handshakeRefusals.handshake_rate).toBe(1);
  });

  it("behind a trusted proxy the address is the header's entry the proxy wrote, never one the client wrote", async () => {
    const h = await startServer({ limits: { connectionsPerAddress: 1, proxy: { header: "x-forwarded-for", hops: 1 } } });
    // The client forges a left-hand entry; the proxy appended the real one.
    expect((await pollingHandshake(h, { "x-forwarded-for": "9.9.9.9, 203.0.113.7" })).status).toBe(200);
    expect((await pollingHandshake(h, { "x-forwarded-for": "8.8.8.8, 203.0.113.7" })).status).toBe(429);
    expect((await pollingHandshake(h, { "x-forwarded-for": "203.0.113.8" })).status).toBe(200);
    // IPv6 clients are counted per /64.
    expect((await pollingHandshake(h, { "x-forwarded-for": "2001:db8:1:2::1" })).status).toBe(200);
    expect((await pollingHandshake(h, { "x-forwarded-for": "2001:db8:1:2:ffff::9" })).status).toBe(429);
    // An entry that is not an address falls back to the TCP peer (127.0.0.1, which has none open yet).
    expect((await pollingHandshake(h, { "x-forwarded-for": "<script>" })).status).toBe(200);
    expect((await pollingHandshake(h)).status).toBe(429);
  });

  it("without limits.proxy the header is ignored: every request counts as its TCP peer", async () => {
    const h = await startServer({ limits: { connectionsPerAddress: 1 } });
    expect((await pollingHandshake(h, { "x-forwarded-for": "203.0.113.1" })).status).toBe(200);
    expect((await pollingHandshake(h, { "x-forwarded-for": "203.0.113.2" })).status).toBe(429);
  });

  it("sheds new handshakes with 503 while the event loop is overloaded, keeps serving connected clients, and stops by itself", async () => {
    const h = await startServer({ limits: { maxEventLoopDelayMs: 100, sheddingHoldMs: 400 } });
    h.io.on("connection", (socket) => socket.on("echo", (n: number, ack: (n: number) => void) => ack(n)));
    const client = await connectFrom(h, "127.0.0.2");
    expect(h.io.shedding).toBe(false);
    // A raw handshake reaches the kernel, then the process is busy for 300 ms.
    const pending = rawSend(h, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await pending.connected;
    pending.send();
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // busy: the event loop is blocked
    }
    const answer = await pending.answer;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nRetry-After: 1\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({ code: 503, cause: "event_loop_overload" });
    expect(h.io.shedding).toBe(true);
    expect(h.io.stats()).toMatchObject({ shedding: true, handshakeRefusals: { event_loop_overload: 1 } });
    // The connected client is served meanwhile.
    expect(await ask(client, "echo", 7)).toBe(7);
    // Shedding stops once the loop has been fine for sheddingHoldMs.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.io.shedding).toBe(false);
    expect((await pollingHandshake(h)).status).toBe(200);
    await connectFrom(h, "127.0.0.3");
  });

  it("refusals appear in tidewire/metrics by cause, with shedding as a gauge", async () => {
    const h = await startServer({ limits: { connectionsPerAddress: 1 } });
    const register = new Registry();
    registerMetrics(h.io, { register });
    await connectFrom(h, "127.0.0.2");
    expect((await pollingHandshakeFrom(h, "127.0.0.2")).status).toBe(429);
    const text = await register.metrics();
    expect(text).toContain('tidewire_handshake_refusals_total{cause="address_connections"} 1');
    expect(text).toContain('tidewire_handshake_refusals_total{cause="server_drain"} 0');
    expect(text).toContain('tidewire_event_refusals_total{cause="rate_limited"} 0');
    expect(text).toContain("tidewire_shedding 0");
  });

  it("a flood of handshakes from distinct addresses keeps at most maxAddresses idle entries, and the sweep drops refilled ones", { timeout: 30_000 }, async () => {
    const h = await startServer({
      limits: {
        handshakesPerAddress: { rate: 1000, burst: 1 },
        handshakes: { rate: 0.001, burst: 1 },
        maxAddresses: 100,
        proxy: { header: "x-real-ip" },
      },
    });
    const table = h.io.policy!.addresses!;
    let n = 0;
    const worker = async () => {
      while (n < 2000) {
        const i = n++;
        await pollingHandshake(h, { "x-real-ip": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    // One session opened (the global burst); every other handshake was refused but left an idle entry.
    expect(h.io.stats().handshakeRefusals.handshake_rate).toBe(1999);
    expect(table.idleSize).toBeLessThanOrEqual(100);
    expect(table.size).toBeLessThanOrEqual(101);
    await new Promise((resolve) => setTimeout(resolve, 5));
    h.io.policy!.sweep();
    expect(table.idleSize).toBe(0);
  });
});

/** A polling handshake from `localAddress` over a raw TCP socket: status, head and body. */
async function pollingHandshakeFrom(h: PolicyServer, localAddress: string): Promise<{ status: number; head: string; body: string }> {
  const raw = rawSend(h, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", localAddress);
  await raw.connected;
  raw.send();
  const text = await raw.answer;
  const end = text.indexOf("\r\n\r\n");
  return { status: Number(text.slice(9, 12)), head: text.slice(0, end), body: text.slice(end + 4) };
}

/** Raw bytes over TCP: `send()` writes them once connected; `answer` is everything read until the server closes. */
function rawSend(h: PolicyServer, request: string, localAddress = "127.0.0.1") {
  const socket = connect({ host: "127.0.0.1", port: h.port, localAddress });
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString("latin1")));
  const connected = withTimeout(new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject)), 4000, "connect");
  const answer = withTimeout(new Promise<string>((resolve) => socket.once("close", () => resolve(text))), 4000, "raw answer");
  return { connected, answer, send: () => socket.write(request) };
}
