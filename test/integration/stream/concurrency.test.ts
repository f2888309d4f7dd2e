/**
 * Many streams on one socket at once, in both directions: every stream
 * arrives intact with its own arguments, a stalled or failed stream does not
 * hold up or break the others.
 */
import { afterEach, describe, expect, it } from "vitest";
import { StreamErrorCodes, streams, type IncomingStream } from "../../../src/stream/index.js";
import { closeAll, connectPair, hashOf, randomSource, rejectionOf, waitFor, withTimeout } from "./helpers.js";

afterEach(closeAll);

const COUNT = 20;

describe("concurrent streams", () => {
  it(`${COUNT} streams each way at once stay independent: one unread, one destroyed, the rest intact`, async () => {
    const { server, client } = await connectPair({ transports: ["websocket"] });
    const sizeOf = (i: number) => 256 * 1024 + i * 97 * 1024 + i;

    const runDirection = async (sender: any, receiver: any, label: string) => {
      const results = new Map<number, Promise<{ bytes: number; sha256: string }>>();
      const incoming = new Map<number, IncomingStream>();
      let stalled!: IncomingStream;
      streams(receiver).on("part", (stream, meta: { index: number; label: string }) => {
        expect(meta.label).toBe(label);
        incoming.set(meta.index, stream);
        if (meta.index === 0) {
          stalled = stream; // read nothing until every other stream is done
          return;
        }
        if (meta.index === 7) {
          stream.once("data", () => stream.destroy());
          stream.resume();
          return;
        }
        results.set(meta.index, hashOf(stream));
      });
      const sources = Array.from({ length: COUNT }, (_, i) => randomSource(sizeOf(i), 32 * 1024));
      const sends = sources.map((source, index) => streams(sender).emit("part", source, { index, label }));
      const aborted = rejectionOf(sends[7], 20_000);

      // Everything except the stalled and the destroyed stream completes.
      const others = sends.filter((_, i) => i !== 0 && i !== 7);
      const sent = await withTimeout(Promise.all(others), 20_000, `${label}: the other streams`);
      expect(sent).toEqual(sources.map((_, i) => sizeOf(i)).filter((_, i) => i !== 0 && i !== 7));
      expect((await aborted).code).toBe(StreamErrorCodes.REMOTE_ABORT);
      for (let i = 1; i < COUNT; i++) {
        if (i === 7) continue;
        const got = await results.get(i)!;
        expect(got.bytes).toBe(sizeOf(i));
        expect(got.sha256).toBe(sources[i].digest());
      }
      // The stalled stream held one window at most and still completes when read.
      expect(stalled.bytesReceived).toBeLessThanOrEqual(streams(receiver).options.window);
      const last = hashOf(stalled);
      await expect(withTimeout(sends[0], 10_000, `${label}: the stalled stream`)).resolves.toBe(sizeOf(0));
      expect((await last).sha256).toBe(sources[0].digest());
      // Ids are unique per direction: every stream got its own.
      expect(new Set([...incoming.values()].map((s) => s.id)).size).toBe(COUNT);
      expect(streams(sender).outgoingCount).toBe(0);
      expect(streams(receiver).incomingCount).toBe(0);
    };

    await Promise.all([runDirection(server, client, "down"), runDirection(client, server, "up")]);
  }, 30_000);

  it.each([
    ["a budget of two chunks", 128 * 1024],
    ["a budget smaller than one chunk", 10 * 1024],
  ])(
    "maxBytesInFlight (%s) bounds all streams together; unread streams hold none of it",
    async (_name, budget) => {
      const { server, client } = await connectPair({ transports: ["websocket"] });
      const chunkSize = 64 * 1024;
      const sender = streams(server, { maxBytesInFlight: budget, chunkSize });
      let maxInFlight = 0;
      server.onAnyOutgoing(() => {
        maxInFlight = Math.max(maxInFlight, sender.bytesInFlight);
      });
      const hashes: Array<Promise<{ bytes: number; sha256: string }>> = [];
      const unread: IncomingStream[] = [];
      streams(client).on("b", (stream) => {
        hashes.push(hashOf(stream));
      });
      streams(client).on("stalled", (stream) => {
        unread.push(stream);
      });
      // Three streams nobody reads fill their whole windows (3 MiB) first.
      const stalledSources = [0, 1, 2].map(() => randomSource(2 * 1024 * 1024, 20 * 1024));
      const stalled = Promise.allSettled(stalledSources.map((s) => sender.emit("stalled", s)));
      const sources = Array.from({ length: 10 }, (_, i) => randomSource(500 * 1024 + i * 1000, 20 * 1024));
      const sent = await withTimeout(Promise.all(sources.map((s) => sender.emit("b", s))), 20_000, "the read streams");
      expect(sent).toEqual(sources.map((_, i) => 500 * 1024 + i * 1000));
      const got = await Promise.all(hashes);
      expect(got.map((h) => h.sha256).sort()).toEqual(sources.map((s) => s.digest()).sort());
      // The read streams finished while far more than the budget sat unread:
      // unread data holds no budget.
      expect(unread).toHaveLength(3);
      const unreadBytes = unread.reduce((n, s) => n + s.bytesReceived, 0);
      expect(unreadBytes).toBeGreaterThan(4 * budget);
      for (const s of unread) expect(s.bytesReceived).toBeLessThanOrEqual(streams(client).options.window);
      // a piece may go alone when nothing is in flight, so one chunk is the floor
      expect(maxInFlight).toBeLessThanOrEqual(Math.max(budget, chunkSize));
      expect(maxInFlight).toBeGreaterThan(0);
      for (const s of unread) s.resume();
      const outcomes = await withTimeout(stalled, 20_000, "the stalled streams once read");
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
      // the last delivery report follows the last data within one turn
      const pong = waitFor(server, "pong");
      client.once("ping", () => client.emit("pong"));
      server.emit("ping");
      await pong;
      expect(sender.bytesInFlight).toBe(0);
    },
    30_000,
  );
});
