/**
 * Class 12: slow consumers. A client that stops reading while the server
 * broadcasts costs at most `maxBufferedBytes` (default 4 MiB) of server
 * memory, plus the message that took its backlog past the limit and the
 * last one admitted: volatile packets to it are dropped first (whenever
 * anything waits for it, or its transport cannot take them), then it is
 * disconnected with the reason "buffer overflow" and its buffered frames
 * are released. Well-behaved clients get every broadcast meanwhile.
 * `socket.conn.bufferedAmount` and the "drain" event let an application
 * apply backpressure itself.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectHeapNear,
  fetchText,
  LeakTracker,
  pollingHandshake,
  RawWebSocket,
  settledHeap,
  SIO_POLLING_PATH,
  turn,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

const MiB = 1024 * 1024;
const CHUNK = "b".repeat(64 * 1024);

/** Memory the process retains (after a full collection): heap and Buffers. */
function retained(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The server-side socket of the next connection to "/". */
function nextSocket(handle: IoServerHandle): Promise<any> {
  return new Promise((resolve) => handle.io.once("connection", resolve));
}

describe("hostile: slow consumers", () => {
  it("a WebSocket client that stops reading: volatile drops, then 'buffer overflow'; memory stays bounded", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    let canaryBig = 0;
    canary.client.on("big", () => canaryBig++);

    const attackerSide = nextSocket(handle);
    const attacker = await RawWebSocket.socketIo(handle.port);
    const socket = await attackerSide;
    let reason = "";
    socket.on("disconnect", (r: string) => (reason = r));
    // Volatile packets that reached the attacker's outbound queue.
    let volatileQueued = 0;
    socket.conn.on("packetCreate", (p: { data?: unknown }) => {
      if (typeof p.data === "string" && p.data.startsWith('42["tick"')) volatileQueued++;
    });
    attacker.pause();

    const limit = handle.io.engine.opts.maxBufferedBytes;
    expect(limit).toBe(4 * MiB);
    const start = retained();
    let peak = 0;
    let bigSent = 0;
    let ticks = 0;
    let ticksWhileOpen = 0;
    let maxBuffered = 0;
    await canary.during(async () => {
      // 64 MiB in all: far more than the kernel and the limit can hold.
      for (let i = 0; i < 1024; i++) {
        handle.io.emit("big", CHUNK);
        bigSent++;
        handle.io.volatile.emit("tick", i);
        ticks++;
        if (socket.connected) {
          ticksWhileOpen++;
          maxBuffered = Math.max(maxBuffered, socket.conn.bufferedAmount);
        }
        await turn();
        if (i % 64 === 63) {
          peak = Math.max(peak, retained() - start);
          // The canary keeps up: wait for it now and then rather than outrun it.
          while (canaryBig < bigSent - 8) await canary.echo();
        }
      }
    });
    expect(reason).toBe("buffer overflow");
    expect(ticksWhileOpen).toBeGreaterThan(0);
    // Some volatile ticks were dropped while the attacker was still connected.
    expect(volatileQueued).toBeLessThan(ticksWhileOpen);
    // The rule judges what waits before each packet, the large message aside: at most the limit,
    // plus the packet that took the backlog past it (the large message), plus the last one admitted.
    expect(maxBuffered).toBeLessThanOrEqual(limit + 2 * (CHUNK.length + 64));
    // What the attacker's connection may hold, plus the few messages in flight to the canary.
    expect(peak).toBeLessThan(limit + 8 * MiB);
    // Reading again, the attacker finds its connection ended.
    attacker.drain();
    await withTimeout(attacker.closed, 5000, "the attacker's connection being dropped");
    while (canaryBig < bigSent) await canary.echo();
    expect(canaryBig).toBe(bigSent);
    expect(ticks).toBe(1024);
  });

  it("a polling client that stops polling is disconnected the same way", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "polling");
    const attackerSide = nextSocket(handle);
    const sid = await pollingHandshake(handle.port);
    const path = `${SIO_POLLING_PATH}&sid=${sid}`;
    expect((await fetchText(handle.port, path, { method: "POST", body: "40" })).body).toBe("ok");
    const socket = await attackerSide;
    expect((await fetchText(handle.port, path)).body).toMatch(/^40\{"sid"/);
    const disconnected = new Promise<string>((resolve) => socket.on("disconnect", resolve));
    await canary.during(async () => {
      for (let i = 0; i < 200 && socket.connected; i++) {
        handle.io.emit("big", CHUNK);
        await turn();
      }
    });
    expect(await disconnected).toBe("buffer overflow");
    // The session is gone: its id is unknown now.
    expect((await fetchText(handle.port, path)).body).toBe('{"code":1,"message":"Session ID unknown"}');
  });

  it("a WebSocket client that stops reading during a large message: what follows is bounded, then cut", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const side = nextSocket(handle);
    const attacker = await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    const reason = new Promise<string>((resolve) => socket.on("disconnect", resolve));
    attacker.pause();
    const limit = handle.io.engine.opts.maxBufferedBytes;
    const LARGE = 32 * MiB;
    let large: Buffer | null = Buffer.alloc(LARGE, 1);
    const start = retained();
    // Nothing waited before it: admitted whole, though eight times the limit.
    socket.emit("large", large);
    large = null;
    await turn();
    expect(socket.connected).toBe(true);
    let after = 0;
    let peak = 0;
    await canary.during(async () => {
      for (let i = 0; i < 1024 && socket.connected; i++) {
        socket.emit("big", CHUNK);
        if (socket.connected) after++;
        await turn();
        if (i % 16 === 15) peak = Math.max(peak, retained() - start);
      }
    });
    expect(await reason).toBe("buffer overflow");
    // The large message did not count against what followed it, one write per turn; that stopped
    // at the limit (plus the last writes).
    expect(after * CHUNK.length).toBeGreaterThanOrEqual(limit - 2 * CHUNK.length);
    expect(after * CHUNK.length).toBeLessThanOrEqual(limit + 3 * CHUNK.length);
    expect(peak).toBeLessThan(LARGE + limit + 8 * MiB);
    attacker.drain();
    await withTimeout(attacker.closed, 5000, "the attacker's connection being dropped");
  });

  it("a polling client that stops polling after a large message is cut the same way", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "polling");
    const attackerSide = nextSocket(handle);
    const sid = await pollingHandshake(handle.port);
    const path = `${SIO_POLLING_PATH}&sid=${sid}`;
    expect((await fetchText(handle.port, path, { method: "POST", body: "40" })).body).toBe("ok");
    const socket = await attackerSide;
    expect((await fetchText(handle.port, path)).body).toMatch(/^40\{"sid"/);
    const disconnected = new Promise<string>((resolve) => socket.on("disconnect", resolve));
    const limit = handle.io.engine.opts.maxBufferedBytes;
    socket.emit("large", "L".repeat(24 * MiB));
    await turn();
    let after = 0;
    await canary.during(async () => {
      for (let i = 0; i < 200 && socket.connected; i++) {
        socket.emit("big", CHUNK);
        if (socket.connected) after++;
        await turn();
      }
    });
    expect(await disconnected).toBe("buffer overflow");
    expect(after * CHUNK.length).toBeGreaterThanOrEqual(limit - 2 * CHUNK.length);
    expect(after * CHUNK.length).toBeLessThanOrEqual(limit + 3 * CHUNK.length);
    expect((await fetchText(handle.port, path)).body).toBe('{"code":1,"message":"Session ID unknown"}');
  });

  it("a volatile packet with attachments is dropped whole while a large write waits", async () => {
    const handle = await echoServer({ maxBufferedBytes: 1 * MiB });
    const side = nextSocket(handle);
    const client = await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    // Queued within one turn: the transport is still writable, but a packet waits.
    socket.emit("bulk", "q".repeat(600 * 1024));
    expect(socket.conn.bufferedAmount).toBeGreaterThan(512 * 1024);
    expect(socket.conn.transport.writable).toBe(true);
    socket.volatile.emit("vbin", Buffer.from([1, 2, 3]));
    socket.volatile.emit("vtext", "dropped");
    handle.io.volatile.emit("vbin-all", Buffer.from([4]));
    socket.emit("after", Buffer.from([5]));
    expect(((await client.nextMessage(5000)) as string).slice(0, 10)).toBe('42["bulk",');
    expect(await client.nextMessage()).toBe('451-["after",{"_placeholder":true,"num":0}]');
    expect(await client.nextMessage()).toEqual(Buffer.from([5]));
    client.sendText('421["echo","fine"]');
    expect(await client.nextMessage()).toBe('431["fine"]');
  });

  it("socket.conn.bufferedAmount and 'drain' let the application pace a slow reader without loss", async () => {
    const handle = await echoServer({ maxBufferedBytes: 2 * MiB });
    const side = nextSocket(handle);
    const reader = await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    reader.pause();
    const HIGH = 512 * 1024;
    const total = 160; // 10 MiB: five times the limit
    let waits = 0;
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        while (socket.conn.bufferedAmount > HIGH) {
          waits++;
          await withTimeout(new Promise((resolve) => socket.conn.once("drain", resolve)), 10000, "drain");
        }
        socket.emit("part", i, CHUNK);
      }
    })();
    // Resume once the sender had to hold back.
    while (waits === 0) await turn();
    expect(socket.connected).toBe(true);
    reader.resume();
    for (let i = 0; i < total; i++) {
      const m = (await reader.nextMessage(10000)) as string;
      expect(m.slice(0, 12 + String(i).length)).toBe(`42["part",${i},"`);
    }
    await sending;
    expect(socket.connected).toBe(true);
  });

  it("leaves nothing behind: overflowed connections are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer({ maxBufferedBytes: 1 * MiB });
    const canary = await Canary.connect(handle);
    const attack = async () => {
      const attackers = await Promise.all([1, 2, 3].map(() => RawWebSocket.socketIo(handle.port)));
      for (const a of attackers) a.pause();
      for (let i = 0; i < 400 && handle.io.engine.clientsCount > 1; i++) {
        handle.io.emit("big", CHUNK);
        await turn();
        if (i % 32 === 31) await canary.echo();
      }
      expect(handle.io.engine.clientsCount).toBe(1);
      for (const a of attackers) a.drain();
      await Promise.all(attackers.map((a) => withTimeout(a.closed, 5000, "an attacker being dropped")));
    };
    await attack();
    const baseline = await settledHeap();
    const tracker = new LeakTracker(handle);
    await canary.during(attack);
    await canary.during(attack);
    expect(tracker.tracked).toBeGreaterThanOrEqual(18);
    await tracker.expectCollected();
    await expectHeapNear(baseline);
  });
});
