/**
 * 200 MB through real sockets in each direction: the bytes arrive intact
 * (sha256 of what the source produced equals sha256 of what the reader got)
 * and memory stays bounded by the flow-control window, not by the size.
 * Both ends live in this process, so one RSS sampler sees both.
 */
import { afterEach, describe, expect, it } from "vitest";
import { streams } from "../../../src/stream/index.js";
import { closeAll, connectPair, hashOf, randomSource, rssSampler } from "./helpers.js";

afterEach(closeAll);

const SIZE = 200 * 1024 * 1024;
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

describe("200 MB streams", () => {
  it.each(["server → client", "client → server"] as const)(
    "%s: equal sha256 on both ends, peak RSS growth under 64 MB",
    async (direction) => {
      const { server, client } = await connectPair({ transports: ["websocket"] });
      const [sender, receiver] = direction === "server → client" ? [server, client] : [client, server];
      const source = randomSource(SIZE);
      // warm up allocator and JIT on a small stream so the baseline is fair
      const warm = randomSource(4 * 1024 * 1024);
      const warmDone = new Promise<unknown>((resolve, reject) =>
        streams(receiver).once("warm", (s) => hashOf(s).then(resolve, reject)),
      );
      await streams(sender).emit("warm", warm);
      await warmDone;
      global.gc?.();

      const sampler = rssSampler(10);
      const started = performance.now();
      const received = new Promise<{ bytes: number; sha256: string }>((resolve, reject) =>
        streams(receiver).once("big", (s) => hashOf(s).then(resolve, reject)),
      );
      const sent = await streams(sender).emit("big", source);
      const result = await received;
      const seconds = (performance.now() - started) / 1000;
      const rss = sampler.stop();

      expect(sent).toBe(SIZE);
      expect(result.bytes).toBe(SIZE);
      expect(result.sha256).toBe(source.digest());
      console.log(
        `[stream] ${direction}: 200 MB in ${seconds.toFixed(2)} s (${(SIZE / 1024 / 1024 / seconds).toFixed(0)} MB/s), ` +
          `RSS baseline ${(rss.baseline / 1048576).toFixed(0)} MB, peak growth ${(rss.growth / 1048576).toFixed(1)} MB`,
      );
      expect(rss.growth).toBeLessThan(MAX_RSS_GROWTH);
      expect(streams(sender).outgoingCount).toBe(0);
      expect(streams(receiver).incomingCount).toBe(0);
    },
    60_000,
  );
});
