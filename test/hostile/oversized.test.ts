/**
 * Class 6: oversized messages on both transports, polling bodies trickled
 * in tiny chunks, and one 1 MB POST carrying 110,000 tiny events.
 *
 * Reference outcomes: a POST body over maxHttpBufferSize gets 413 (with or
 * without Content-Length; the session stays open), a WebSocket message over
 * it closes the connection with 1009. A trickled body costs about its own
 * size in memory, not a Buffer object per chunk. A POST of 110,000 packets
 * is delivered in slices: other clients are served while it is processed.
 */
import * as net from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  clientFrame,
  closeAll,
  echoServer,
  expectHeapNear,
  fetchText,
  LeakTracker,
  OP,
  onClose,
  pollingHandshake,
  RawWebSocket,
  settledHeap,
  SIO_POLLING_PATH,
  turn,
  withTimeout,
} from "./helpers.js";

afterEach(closeAll);

/** A Socket.IO session on polling, connected to "/" by hand. */
async function pollingSession(port: number): Promise<string> {
  const sid = await pollingHandshake(port);
  const path = `${SIO_POLLING_PATH}&sid=${sid}`;
  expect((await fetchText(port, path, { method: "POST", body: "40" })).body).toBe("ok");
  expect((await fetchText(port, path)).body).toMatch(/^40\{"sid"/);
  return sid;
}

/** Sends a POST head, then the body with `write` and reports what the server answered. */
function rawPost(port: number, sid: string, headers: string, write: (socket: net.Socket) => Promise<void>) {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  socket.on("error", () => {});
  onClose(() => {
    socket.destroy();
  });
  const answer = new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString();
      if (/\r\n\r\n/.test(text) && (/^HTTP\/1\.1 (413|400)/.test(text) || text.endsWith("ok"))) resolve(text);
    });
    socket.on("close", () => resolve(Buffer.concat(chunks).toString()));
  });
  socket.write(`POST ${SIO_POLLING_PATH}&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n${headers}\r\n`);
  const written = write(socket);
  return { answer, written };
}

describe("hostile: oversized and trickled messages", () => {
  it("a POST body over maxHttpBufferSize gets 413, with or without Content-Length; the session stays", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "polling");
    const sid = await pollingSession(handle.port);
    const path = `${SIO_POLLING_PATH}&sid=${sid}`;
    await canary.during(async () => {
      const big = "4" + "x".repeat(1_000_000);
      const declared = await fetchText(handle.port, path, { method: "POST", body: big });
      expect(declared.status).toBe(413);
      // Chunked: the limit is enforced while the body is read.
      const { answer, written } = rawPost(handle.port, sid, "Transfer-Encoding: chunked\r\n", async (socket) => {
        for (let i = 0; i < 40 && !socket.destroyed; i++) {
          const part = "y".repeat(64 * 1024);
          socket.write(`${part.length.toString(16)}\r\n${part}\r\n`);
          await turn();
        }
      });
      expect(await withTimeout(answer, 5000, "the answer to the chunked POST")).toMatch(/^HTTP\/1\.1 413/);
      await written;
    });
    // The session is still usable.
    expect((await fetchText(handle.port, path, { method: "POST", body: '421["echo","still"]' })).body).toBe("ok");
    expect((await fetchText(handle.port, path)).body).toBe('431["still"]');
  });

  it("a WebSocket message over maxHttpBufferSize closes the connection with 1009, fragmented or not", async () => {
    const handle = await echoServer({ maxHttpBufferSize: 100_000 });
    const canary = await Canary.connect(handle);
    const reasons: string[] = [];
    handle.io.on("connection", (socket) => socket.on("disconnect", (r: string) => reasons.push(r)));
    await canary.during(async () => {
      const whole = await RawWebSocket.socketIo(handle.port);
      whole.sendText("42" + JSON.stringify(["big", "z".repeat(100_000)]));
      await withTimeout(whole.closed, 5000, "the connection closing");
      expect(whole.closeCode).toBe(1009);

      const pieces = await RawWebSocket.socketIo(handle.port);
      pieces.send(clientFrame(OP.TEXT, '42["big","', { fin: false }));
      for (let i = 0; i < 20; i++) pieces.send(clientFrame(OP.CONTINUATION, "z".repeat(8000), { fin: false }));
      await withTimeout(pieces.closed, 5000, "the fragmented connection closing");
      expect(pieces.closeCode).toBe(1009);

      // Just under the limit is fine.
      const fine = await RawWebSocket.socketIo(handle.port);
      const value = "z".repeat(99_000);
      fine.sendText(`421["echo","${value}"]`);
      expect(await fine.nextMessage()).toBe(`431["${value}"]`);
    });
    expect(reasons.sort()).toEqual(["transport error", "transport error"]);
  });

  it("a body trickled one byte per chunk costs about its size, not a Buffer per byte", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const events: unknown[] = [];
    handle.io.on("connection", (socket) => socket.on("t", (v: unknown) => events.push(v)));
    const sid = await pollingSession(handle.port);
    let chunksSeen = 0;
    handle.httpServer.prependListener("request", (req) => {
      if (req.method === "POST") req.on("data", () => chunksSeen++);
    });
    const body = Array.from({ length: 2000 }, (_, i) => `42["t",${i}]`).join("\x1e");
    const before = await settledHeap();
    let during = 0;
    await canary.during(async () => {
      const { answer, written } = rawPost(handle.port, sid, `Content-Length: ${body.length}\r\n`, async (socket) => {
        for (let i = 0; i < body.length; i++) {
          socket.write(body[i]!);
          await turn();
          if (i === body.length - 2) during = await settledHeap();
        }
      });
      await written;
      expect(await withTimeout(answer, 5000, "the answer to the trickled POST")).toMatch(/^HTTP\/1\.1 200[\s\S]*ok$/);
    });
    // Most bytes really arrived one by one, and all the packets were delivered in order.
    expect(chunksSeen).toBeGreaterThan(body.length / 2);
    expect(events).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // ~21,000 chunks held as separate Buffers would cost several MiB.
    expect(during - before).toBeLessThan(1024 * 1024);
  });

  it("one 1 MB POST of 110,000 tiny events is processed in slices: others are served meanwhile", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    let count = 0;
    let countAtEcho = -1;
    let echoing: Promise<void> | null = null;
    handle.io.on("connection", (socket) => {
      socket.on("e", () => {
        if (++count === 1000) echoing = canary.echo().then(() => void (countAtEcho = count));
      });
    });
    const sid = await pollingSession(handle.port);
    const path = `${SIO_POLLING_PATH}&sid=${sid}`;
    const body = Array.from({ length: 110_000 }, () => '42["e"]').concat('421["echo","last"]').join("\x1e");
    expect(body.length).toBeLessThanOrEqual(1_000_000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const res = await fetchText(handle.port, path, { method: "POST", body }, 20000);
    delay.disable();
    expect(res.body).toBe("ok");
    expect(count).toBe(110_000);
    await withTimeout(echoing!, 5000, "the canary's echo");
    // The canary's round-trip completed while the POST was still being processed.
    expect(countAtEcho).toBeGreaterThanOrEqual(1000);
    expect(countAtEcho).toBeLessThan(110_000);
    expect((await fetchText(handle.port, path)).body).toBe('431["last"]');
    // Generous bound for a loaded machine; processing it in one go takes ~10x a slice.
    expect(delay.max / 1e6).toBeLessThan(1000);
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer({ maxHttpBufferSize: 100_000 });
    const canary = await Canary.connect(handle);
    const attack = async () => {
      const ws = await RawWebSocket.socketIo(handle.port);
      ws.sendText("42" + JSON.stringify(["big", "z".repeat(100_000)]));
      await withTimeout(ws.closed, 5000, "the connection closing");
      const sid = await pollingSession(handle.port);
      const path = `${SIO_POLLING_PATH}&sid=${sid}`;
      expect((await fetchText(handle.port, path, { method: "POST", body: "4" + "x".repeat(100_000) })).status).toBe(413);
      expect((await fetchText(handle.port, path, { method: "POST", body: "1" })).body).toBe("ok");
    };
    await attack();
    const baseline = await settledHeap();
    const tracker = new LeakTracker(handle);
    await canary.during(async () => {
      for (let i = 0; i < 5; i++) await attack();
    });
    await tracker.expectCollected();
    await expectHeapNear(baseline);
  });
});
