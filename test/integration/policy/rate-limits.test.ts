/**
 * Rate limits on incoming events (`limits.events`, `perEvent`,
 * `eventsPerAddress`, `bytes`), with official clients: what an event over a
 * limit gets (an ack error the client can read, a disconnect with the cause
 * `rate_limited`, or the application's callback), the counters, that other
 * clients are not affected, and that a flood past the limits leaves a canary
 * client's latency near its unflooded baseline.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Server, type ServerOptions } from "../../../src/index.js";
import { closeAll, waitFor, withTimeout } from "../../helpers/io.js";
import { ask, connectFrom, echoLatencies, median, startFlooder, startServer } from "./helpers.js";

afterEach(closeAll);

const MODES = ["websocket", "polling"] as const;

describe("event rate limits", () => {
  it("are off by default: a burst of 300 events all reach the handler, nothing is refused", async () => {
    const h = await startServer();
    let seen = 0;
    h.io.on("connection", (socket) => socket.on("tick", (ack: () => void) => (seen++, ack())));
    const client = await connectFrom(h, "127.0.0.1");
    await Promise.all(Array.from({ length: 300 }, () => withTimeout(client.emitWithAck("tick"), 4000, "tick")));
    expect(seen).toBe(300);
    expect(h.io.stats().eventRefusals).toEqual({ rate_limited: 0, bytes_limited: 0, invalid_payload: 0, schema_error: 0 });
    expect(h.io.policy).toBeNull();
  });

  describe.each(MODES)("over %s", (mode) => {
    it("drop: events over the socket's bucket get { error: 'rate_limited', event, limit, retryAfterMs } as their ack", async () => {
      const h = await startServer({ limits: { events: { rate: 1, burst: 5 } } });
      let handled = 0;
      h.io.on("connection", (socket) => socket.on("chat", (text: string, ack: (r: unknown) => void) => (handled++, ack({ ok: text }))));
      const client = await connectFrom(h, "127.0.0.1", {}, mode);
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(client, "chat", `m${i}`)));
      expect(answers.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((i) => ({ ok: `m${i}` })));
      for (const answer of answers.slice(5)) {
        expect(answer).toMatchObject({ error: "rate_limited", event: "chat", limit: "events" });
        expect(answer.retryAfterMs).toBeGreaterThan(0);
        expect(answer.retryAfterMs).toBeLessThanOrEqual(1000);
      }
      expect(handled).toBe(5);
      expect(h.io.stats().eventRefusals.rate_limited).toBe(7);
      // Dropped events without an ack are dropped silently; the connection stays.
      client.emit("chat", "no ack");
      expect(await ask(client, "chat", "x")).toMatchObject({ error: "rate_limited" });
      expect(client.connected).toBe(true);
    });
  });

  it("perEvent limits one event name and leaves the others to the socket's own bucket", async () => {
    const h = await startServer({ limits: { events: { rate: 100, burst: 100 }, perEvent: { chat: { rate: 1, burst: 2 } } } });
    h.io.on("connection", (socket) => {
      socket.on("chat", (ack: (r: unknown) => void) => ack("chat ok"));
      socket.on("move", (ack: (r: unknown) => void) => ack("move ok"));
    });
    const client = await connectFrom(h, "127.0.0.1");
    const chats = await Promise.all([1, 2, 3, 4].map(() => ask(client, "chat")));
    const moves = await Promise.all([1, 2, 3, 4].map(() => ask(client, "move")));
    expect(chats.slice(0, 2)).toEqual(["chat ok", "chat ok"]);
    expect(chats.slice(2)).toEqual([expect.objectContaining({ error: "rate_limited", limit: "perEvent" }), expect.objectContaining({ error: "rate_limited" })]);
    expect(moves).toEqual(["move ok", "move ok", "move ok", "move ok"]);
  });

  it("disconnect: the client is disconnected, the server-side cause is rate_limited with the limit and event", async () => {
    const h = await startServer({ limits: { perEvent: { spam: { rate: 1, burst: 3, action: "disconnect" } } } });
    const disconnected = waitFor(h.io, "connection").then(([socket]) => waitFor(socket, "disconnect"));
    const client = await connectFrom(h, "127.0.0.1");
    const gone = waitFor(client, "disconnect");
    for (let i = 0; i < 10; i++) client.emit("spam", i);
    const [reason, details] = await disconnected;
    expect(reason).toMatch(/^forced (server )?close$/);
    expect(details.cause).toMatchObject({ code: "rate_limited", limit: "perEvent", event: "spam", transport: "websocket" });
    await gone;
    const stats = h.io.stats();
    expect(stats.disconnects.rate_limited).toBe(1);
    expect(stats.sessionCloses.rate_limited.websocket).toBe(1);
  });

  it("a callback action gets what happened; the event is dropped and its ack answered", async () => {
    const calls: any[] = [];
    const h = await startServer({
      limits: { events: { rate: 1, burst: 1, action: (info) => calls.push({ ...info, socket: info.socket.id }) } },
    });
    let id = "";
    h.io.on("connection", (socket) => {
      id = socket.id;
      socket.on("a", (ack: (r: unknown) => void) => ack("ok"));
    });
    const client = await connectFrom(h, "127.0.0.1");
    expect(await ask(client, "a")).toBe("ok");
    expect(await ask(client, "a")).toMatchObject({ error: "rate_limited", event: "a", limit: "events" });
    expect(calls).toEqual([{ socket: id, event: "a", limit: "events", retryAfterMs: expect.any(Number), address: "127.0.0.1" }]);
  });

  it("eventsPerAddress: the sockets of one address share a bucket; another address has its own", async () => {
    const h = await startServer({ limits: { eventsPerAddress: { rate: 1, burst: 4 } } });
    h.io.on("connection", (socket) => socket.on("e", (ack: (r: unknown) => void) => ack("ok")));
    const a1 = await connectFrom(h, "127.0.0.1");
    const a2 = await connectFrom(h, "127.0.0.1");
    const b = await connectFrom(h, "127.0.0.2");
    const first = await Promise.all([ask(a1, "e"), ask(a1, "e"), ask(a2, "e"), ask(a2, "e")]);
    expect(first).toEqual(["ok", "ok", "ok", "ok"]);
    expect(await ask(a2, "e")).toMatchObject({ error: "rate_limited", limit: "eventsPerAddress" });
    expect(await ask(a1, "e")).toMatchObject({ error: "rate_limited", limit: "eventsPerAddress" });
    expect(await Promise.all([ask(b, "e"), ask(b, "e"), ask(b, "e")])).toEqual(["ok", "ok", "ok"]);
  });

  it("bytes: a connection over its bytes per second gets its events refused with limit 'bytes'", async () => {
    const h = await startServer({ limits: { bytes: { rate: 1000, burst: 4000 } } });
    h.io.on("connection", (socket) => socket.on("blob", (s: string, ack: (r: unknown) => void) => ack(s.length)));
    const client = await connectFrom(h, "127.0.0.1");
    const big = "x".repeat(3000);
    // The first message fits the burst; the second is let through into debt; the third is refused.
    expect(await ask(client, "blob", big)).toBe(3000);
    expect(await ask(client, "blob", big)).toBe(3000);
    expect(await ask(client, "blob", big)).toMatchObject({ error: "rate_limited", event: "blob", limit: "bytes" });
    expect(h.io.stats().eventRefusals.bytes_limited).toBe(1);
    // Small control packets still flow: the client stays connected and gets pings answered.
    expect(client.connected).toBe(true);
  });

  it("options are checked at new Server(): a clear error names the option", () => {
    expect(() => startServerSync({ limits: { events: { rate: 0 } } })).toThrow(/limits\.events\.rate.*positive number per second/);
    expect(() => startServerSync({ limits: { events: { rate: 1, action: "ban" as any } } })).toThrow(/limits\.events\.action/);
    expect(() => startServerSync({ limits: { handshakesPerAddress: { rate: 1, action: "drop" } as any } })).toThrow(/always refused/);
    expect(() => startServerSync({ limits: { proxy: { header: "x forwarded" } } })).toThrow(/limits\.proxy/);
    expect(() => startServerSync({ limits: { connectionsPerAddress: 1.5 } })).toThrow(/connectionsPerAddress/);
  });

  it("a flood past the limits from another process leaves a canary's echo latency near its unflooded baseline", { timeout: 30_000 }, async () => {
    const h = await startServer({ limits: { events: { rate: 50, burst: 50 } } });
    let noise = 0;
    h.io.on("connection", (socket) => {
      socket.on("echo", (n: number, ack: (n: number) => void) => ack(n));
      socket.on("noise", () => noise++);
    });
    const canary = await connectFrom(h, "127.0.0.1");
    await echoLatencies(canary, 20); // warm-up
    const baseline = median(await echoLatencies(canary, 100));
    const before = h.io.stats().eventRefusals.rate_limited;
    await startFlooder(h.url, "noise", { text: "x".repeat(64) });
    // Let the flood build up, then measure while it goes on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = median(await echoLatencies(canary, 100));
    const refused = h.io.stats().eventRefusals.rate_limited - before;
    expect(refused).toBeGreaterThan(1000);
    // Only the flooder's burst and what its bucket refilled since reached the handler.
    expect(noise).toBeLessThan(50 + 50 * 10);
    // The refused events cost the server little: the canary's median round trip stays within
    // a few times its baseline (a loaded shared machine makes both noisy, hence the margin).
    expect(during).toBeLessThan(Math.max(baseline * 5, baseline + 15));
    expect(canary.connected).toBe(true);
  });
});

function startServerSync(opts: ServerOptions): void {
  new Server(opts);
}
