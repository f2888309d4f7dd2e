/**
 * Helpers for the tidewire/stream tests: a Socket.IO server on 127.0.0.1:0
 * (tidewire's, or socket.io 4.8's with TEST_AGAINST=socket.io, see
 * test/helpers/impl.ts) with one official socket.io-client connected to it,
 * deterministic data
 * sources that never hold the whole payload, hashing sinks, an RSS sampler,
 * and `closeAll()` for afterEach.
 */
import { createHash, randomFillSync } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable, Writable } from "node:stream";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { Server } from "../../helpers/impl.js";
import { waitFor as sharedWaitFor, withTimeout, type Emitterish } from "../../helpers/io.js";

export type TransportMode = "polling" | "websocket";

const cleanups: Array<() => Promise<void> | void> = [];

/** Register a teardown step run (in reverse order) by `closeAll()`. */
export function onClose(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function closeAll(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch {
      // one failed teardown must not skip the others
    }
  }
}

/** Resolves with the event's arguments; rejects after `ms` (the shared helper, with a longer default). */
export function waitFor<T extends unknown[] = any[]>(emitter: Emitterish, event: string, ms = 5000): Promise<T> {
  return sharedWaitFor(emitter, event, ms) as Promise<T>;
}

export { withTimeout };

/** Settles to the rejection reason; fails if the promise resolves. */
export async function rejectionOf(promise: Promise<unknown>, ms = 5000): Promise<any> {
  try {
    const value = await withTimeout(promise, ms, "the promise to reject");
    throw new Error(`expected a rejection, got ${String(value)}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("expected a rejection")) throw err;
    return err;
  }
}

export interface Pair {
  io: InstanceType<typeof Server>;
  httpServer: HttpServer;
  url: string;
  /** Server-side socket. */
  server: any;
  /** socket.io-client socket. */
  client: ClientSocket;
}

/** A server and one connected client (reconnection off unless asked). */
export async function connectPair(
  opts: { transports?: TransportMode[]; reconnection?: boolean; serverOptions?: Record<string, unknown> } = {},
): Promise<Pair> {
  const httpServer = createServer();
  const io = new Server(httpServer, opts.serverOptions as any);
  onClose(
    () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  );
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const serverSide = waitFor(io, "connection");
  const client = ioClient(url, {
    forceNew: true,
    reconnection: opts.reconnection ?? false,
    transports: opts.transports ?? ["websocket"],
    timeout: 5000,
  });
  onClose(() => {
    client.io.reconnection(false);
    client.disconnect();
  });
  await Promise.race([
    waitFor(client, "connect"),
    waitFor(client, "connect_error").then(([err]) => {
      throw new Error(`connect_error: ${(err as Error)?.message}`);
    }),
  ]);
  const [server] = await serverSide;
  return { io, httpServer, url, server, client };
}

/**
 * A Readable of `size` pseudo-random bytes made on demand in `chunk`-sized
 * pieces; `digest()` gives the sha256 of what it produced.
 */
export function randomSource(size: number, chunk = 64 * 1024): Readable & { digest(): string; produced(): number } {
  const hash = createHash("sha256");
  let produced = 0;
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, size - produced);
      const buf = randomFillSync(Buffer.allocUnsafe(n));
      produced += n;
      hash.update(buf);
      this.push(buf);
    },
  });
  return Object.assign(stream, {
    digest: () => hash.copy().digest("hex"),
    produced: () => produced,
  });
}

/** Consumes a Readable, resolving with its byte count and sha256. */
export async function hashOf(readable: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of readable) {
    bytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Collects a Readable into one Buffer (small streams only). */
export async function collect(readable: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of readable) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** A Writable that takes `delayMs` per chunk, counting what it consumed. */
export function slowSink(delayMs: number, onChunk?: (bytes: number) => void): Writable & { consumed(): number } {
  let consumed = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, callback) {
      consumed += chunk.length;
      onChunk?.(consumed);
      setTimeout(callback, delayMs);
    },
  });
  return Object.assign(sink, { consumed: () => consumed });
}

/** Samples RSS every `intervalMs` until stopped; reports the peak growth over the start. */
export function rssSampler(intervalMs = 20): { stop(): { baseline: number; peak: number; growth: number } } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
      return { baseline, peak, growth: peak - baseline };
    },
  };
}
