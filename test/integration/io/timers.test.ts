/**
 * The shared timers seen through the official client: heartbeats with
 * pingInterval equal to pingTimeout, a healthy client through a storm of
 * polling handshakes, timer lists released after many acks with distinct
 * timeouts, and delays beyond 2^31-1 ms (no busy loop, no
 * TimeoutOverflowWarning, an Infinity timeout never fires).
 */
import { Agent, createServer, request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { timers } from "../../../src/core/timers.js";
import { againstReference, Server } from "../../helpers/impl.js";
import {
  closeAll,
  closeHttpServer,
  connectPair,
  createIoServer,
  onClose,
  parseOpenPacket,
  rawRequest,
  waitFor,
  withTimeout,
  type IoServerHandle,
  type TransportMode,
} from "../../helpers/io.js";

afterEach(closeAll);

const TIMEOUT_MESSAGE = "operation has timed out";

/** Every disconnect of these pairs, on either side, as "side id: reason". */
function trackDisconnects(pairs: Array<{ client: any; socket: any }>): string[] {
  const seen: string[] = [];
  for (const { client, socket } of pairs) {
    client.on("disconnect", (reason: string) => seen.push(`client ${socket.id}: ${reason}`));
    socket.on("disconnect", (reason: string) => seen.push(`server ${socket.id}: ${reason}`));
  }
  return seen;
}

/**
 * Resolves once every server-side socket of `pairs` got `beats` more pongs;
 * rejects as soon as one of them disconnects.
 */
function heartbeats(pairs: Array<{ socket: any }>, beats: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const all = Promise.all(
    pairs.map(
      ({ socket }) =>
        new Promise<void>((resolve, reject) => {
          let count = 0;
          const onBeat = (): void => {
            if (++count < beats) return;
            socket.conn.off("heartbeat", onBeat);
            socket.off("disconnect", onGone);
            resolve();
          };
          const onGone = (reason: string): void => {
            socket.conn.off("heartbeat", onBeat);
            reject(new Error(`${socket.id} disconnected (${reason}) after ${Date.now() - started} ms and ${count} heartbeats`));
          };
          socket.conn.on("heartbeat", onBeat);
          socket.once("disconnect", onGone);
        }),
    ),
  ).then(() => undefined);
  return withTimeout(all, timeoutMs, `${beats} heartbeats on each of ${pairs.length} sessions`);
}

async function pairs(handle: IoServerHandle, modes: TransportMode[]): Promise<Array<{ client: any; socket: any }>> {
  const out = [];
  for (const mode of modes) out.push(await connectPair(handle, mode));
  return out;
}

describe("heartbeats with pingInterval equal to pingTimeout", () => {
  it.each([
    { ms: 300, beats: 8 },
    { ms: 1000, beats: 4 },
  ])("idle clients stay connected at $ms/$ms ms for $beats heartbeats, over websocket and polling", { timeout: 20000 }, async ({ ms, beats }) => {
    const handle = await createIoServer({ pingInterval: ms, pingTimeout: ms });
    const all = await pairs(handle, ["websocket", "websocket", "websocket", "polling", "polling", "polling"]);
    const disconnects = trackDisconnects(all);
    await heartbeats(all, beats, beats * ms * 3 + 3000);
    expect(disconnects).toEqual([]);
  });

  it("a healthy websocket client stays connected through 1,500 polling handshakes", { timeout: 40000 }, async () => {
    const handle = await createIoServer({ pingInterval: 500, pingTimeout: 500 });
    const healthy = await pairs(handle, ["websocket"]);
    const disconnects = trackDisconnects(healthy);
    let opened = 0;
    let closed = 0;
    let allClosed: () => void = () => undefined;
    const burstGone = new Promise<void>((resolve) => (allClosed = resolve));
    handle.io.engine.on("connection", (conn: any) => {
      opened++;
      conn.once("close", () => {
        if (++closed === BATCHES * BATCH) allClosed();
      });
    });
    const BATCHES = 30;
    const BATCH = 50;
    const agent = new Agent({ keepAlive: true, maxSockets: BATCH });
    onClose(() => agent.destroy());
    const handshake = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: handle.port, path: "/socket.io/?EIO=4&transport=polling", agent },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve(parseOpenPacket(body).sid));
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end();
      });
    for (let b = 0; b < BATCHES; b++) {
      const sids = await Promise.all(Array.from({ length: BATCH }, handshake));
      expect(new Set(sids).size).toBe(BATCH);
    }
    expect(opened).toBe(BATCHES * BATCH);
    expect(disconnects).toEqual([]);
    // The burst sessions never poll: each ends with "ping timeout" after pingInterval + pingTimeout.
    await withTimeout(burstGone, 15000, "the burst sessions to expire");
    expect(handle.io.engine.clientsCount).toBe(1);
    await heartbeats(healthy, 3, 10000);
    expect(disconnects).toEqual([]);
  });
});

describe.skipIf(againstReference)("timer lists", () => {
  it("acks timing out with distinct fractional delays share lists and release them all", { timeout: 20000 }, async () => {
    const handle = await createIoServer();
    const [{ socket }] = await pairs(handle, ["websocket"]);
    const baseline = timers.listCount;
    const N = 20_000;
    let settled = 0;
    let early = 0;
    let wrong = 0;
    let done: () => void = () => undefined;
    const allSettled = new Promise<void>((resolve) => (done = resolve));
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      // Distinct deadlines between 100 and 1100 ms from now, as a caller computing them would.
      const deadline = start + 100 + (i * 1000) / N + Math.random() / N;
      socket.timeout(deadline - performance.now()).emit("nobody-answers", (err: Error | null) => {
        if (performance.now() < deadline) early++;
        if (err?.message !== TIMEOUT_MESSAGE) wrong++;
        if (++settled === N) done();
      });
    }
    // Whole-ms delays: about 1,000 lists for 1,000 ms of deadlines, not 20,000.
    expect(timers.listCount - baseline).toBeLessThanOrEqual(1010);
    await withTimeout(allSettled, 10000, `${N} ack timeouts`);
    expect({ early, wrong }).toEqual({ early: 0, wrong: 0 });
    // The last list is released at the end of its fire, right after the last callback.
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers.listCount).toBe(baseline);
  });
});

// socket.io lets Node turn these delays into 1 ms (with a TimeoutOverflowWarning):
// its acks time out at once and the engine session is dropped (docs/compatibility.md).
describe.skipIf(againstReference)("delays beyond 2^31-1 ms", () => {
  it("timeout(Infinity) and timeout(3e9) acks, connectTimeout, upgradeTimeout and destroyUpgradeTimeout of 3e9 ms: no busy loop, no warning, nothing fires", { timeout: 15000 }, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    onClose(() => void process.off("warning", onWarning));

    const handle = await createIoServer({ connectTimeout: 3e9, upgradeTimeout: 3e9, destroyUpgradeTimeout: 3e9 });
    const [{ client, socket }] = await pairs(handle, ["websocket"]);
    const fired: string[] = [];
    socket.timeout(Infinity).emit("nobody-answers", (err: Error | null) => fired.push(`Infinity: ${err?.message}`));
    socket.timeout(3e9).emit("nobody-answers", (err: Error | null) => fired.push(`3e9: ${err?.message}`));
    socket
      .timeout(Infinity)
      .emitWithAck("nobody-answers")
      .then(
        () => fired.push("emitWithAck resolved"),
        (err: Error) => fired.push(`emitWithAck: ${err.message}`),
      );
    // An engine session that joins no namespace (connectTimeout), then starts
    // an upgrade it never completes (upgradeTimeout).
    const { sid } = parseOpenPacket((await rawRequest(`${handle.url}/socket.io/?EIO=4&transport=polling`)).body);
    const ws = new WebSocket(`ws://127.0.0.1:${handle.port}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    onClose(() => ws.terminate());
    await waitFor(ws as any, "open");
    // An upgrade request for another path, which nobody answers (destroyUpgradeTimeout).
    // Its server side stays open (that is what the delay means): the test ends it.
    handle.httpServer.on("upgrade", (req, socket) => {
      if (req.url === "/elsewhere") onClose(() => void socket.destroy());
    });
    const foreign = connect(handle.port, "127.0.0.1");
    onClose(() => void foreign.destroy());
    let foreignEnded = false;
    foreign.on("end", () => (foreignEnded = true));
    foreign.on("error", () => undefined);
    await waitFor(foreign, "connect");
    foreign.write("GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");

    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the measured idle second
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    expect(cpuMs).toBeLessThan(50);
    expect(fired).toEqual([]);
    expect(handle.io.engine.clientsCount).toBe(2);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(foreignEnded).toBe(false);

    const gone = waitFor(socket, "disconnect");
    client.disconnect();
    await gone;
    await new Promise((resolve) => setImmediate(resolve));
    expect(fired).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

describe.skipIf(againstReference)("heartbeat bound", () => {
  it("pingInterval + pingTimeout above 2^31-1 ms is refused at construction, naming the option", () => {
    const httpServer = createServer();
    onClose(() => closeHttpServer(httpServer));
    // socket.io accepts it, and every official client then drops with "ping timeout" within milliseconds.
    expect(() => new Server(httpServer, { pingInterval: 3e9 })).toThrow(/Invalid option "pingInterval".*pingInterval \+ pingTimeout of at most 2147483647 ms/);
    expect(() => new Server(httpServer, { pingInterval: 2 ** 31 - 1 - 20000 })).not.toThrow();
  });
});
