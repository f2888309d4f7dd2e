/**
 * Flow control: the sender never runs more than one window ahead of what the
 * receiving reader has consumed, in both directions.
 */
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { streams, STREAM_EVENT_PREFIX } from "../../../src/stream/index.js";
import { closeAll, connectPair, randomSource, waitFor, withTimeout } from "./helpers.js";

afterEach(closeAll);

const DATA = `${STREAM_EVENT_PREFIX}data`;
const WINDOW = 256 * 1024;
const CHUNK = 16 * 1024;

/** Counts the data bytes a socket emits, calling `check` after each chunk. */
function countSent(socket: any, check: (sent: number) => void = () => {}): () => number {
  let sent = 0;
  socket.onAnyOutgoing((event: string, _id: number, chunk: Buffer) => {
    if (event !== DATA) return;
    sent += chunk.length;
    check(sent);
  });
  return () => sent;
}

describe.each(["server → client", "client → server"] as const)("flow control, %s", (direction) => {
  async function setup() {
    const pair = await connectPair({ transports: ["websocket"] });
    const [sender, receiver] = direction === "server → client" ? [pair.server, pair.client] : [pair.client, pair.server];
    streams(sender, { window: WINDOW, chunkSize: CHUNK });
    streams(receiver, { window: WINDOW, chunkSize: CHUNK });
    return { sender, receiver };
  }

  /** One application-level round trip: anything the receiver sent before it has been handled by the sender. */
  async function roundTrip(sender: any, receiver: any): Promise<void> {
    await nextMacrotask();
    const answered = waitFor(receiver, "pong");
    sender.once("ping", () => sender.emit("pong"));
    receiver.emit("ping");
    await answered;
  }

  it("a reader that does not read stops the sender at exactly one window", async () => {
    const { sender, receiver } = await setup();
    const size = 8 * 1024 * 1024;
    const source = randomSource(size, CHUNK);
    let reachedWindow!: () => void;
    const windowFull = new Promise<void>((resolve) => (reachedWindow = resolve));
    const sent = countSent(sender, (n) => n >= WINDOW && reachedWindow());
    let incoming: any;
    streams(receiver).once("idle", (s) => (incoming = s));
    const done = streams(sender).emit("idle", source);

    await withTimeout(windowFull, 5000, "the sender to fill the window");
    // Let every data packet arrive and any credit come back, twice over.
    await roundTrip(sender, receiver);
    await roundTrip(sender, receiver);
    expect(incoming.bytesReceived).toBe(WINDOW);
    expect(sent()).toBe(WINDOW);
    // The source was read no further than the window plus its own buffer and one pending chunk.
    expect(source.produced()).toBeLessThanOrEqual(WINDOW + 2 * CHUNK);

    // Reading resumes the transfer to the end.
    incoming.resume();
    await expect(withTimeout(done, 10_000, "the stream to finish")).resolves.toBe(size);
    expect(sent()).toBe(size);
  });

  it("a slow reader paces the sender: bytes sent never exceed bytes consumed by more than the window", async () => {
    const { sender, receiver } = await setup();
    const size = 3 * 1024 * 1024;
    let consumed = 0;
    let maxLead = 0;
    const sent = countSent(sender, (n) => {
      maxLead = Math.max(maxLead, n - consumed);
    });
    const finished = new Promise<void>((resolve, reject) => {
      streams(receiver).once("slow", (s) => {
        s.on("data", (chunk: Buffer) => {
          consumed += chunk.length;
          s.pause();
          setTimeout(() => s.resume(), 2);
        });
        s.on("end", resolve);
        s.on("error", reject);
      });
    });
    const startedAt = performance.now();
    const bytes = await withTimeout(streams(sender).emit("slow", randomSource(size, CHUNK)), 20_000, "the slow stream");
    const elapsed = performance.now() - startedAt;
    await finished;
    expect(bytes).toBe(size);
    expect(consumed).toBe(size);
    expect(sent()).toBe(size);
    expect(maxLead).toBeLessThanOrEqual(WINDOW);
    // The window was actually used (the test measures something), and the
    // reader's pace, not the network's, set the duration: ≥ 2 ms per
    // 16 KiB chunk for the bytes beyond the first window.
    expect(maxLead).toBeGreaterThan(WINDOW / 2);
    expect(elapsed).toBeGreaterThanOrEqual(((size - WINDOW) / CHUNK) * 2);
  });
});
