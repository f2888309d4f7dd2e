/**
 * Failures in either direction: source errors and destroys, receiver
 * destroys, a throwing listener, refused streams, disconnects mid-stream and
 * channel close. Every failure reaches both ends, leaves no stream behind
 * and destroys the sender's source.
 */
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { StreamError, StreamErrorCodes, streams, type IncomingStream } from "../../../src/stream/index.js";
import { closeAll, connectPair, randomSource, rejectionOf, waitFor, withTimeout } from "./helpers.js";

afterEach(closeAll);

/** Resolves with the error the stream was destroyed with (via "close", so no listener is needed). */
function failureOf(stream: IncomingStream): Promise<Error | null> {
  return withTimeout(
    new Promise((resolve) => {
      if (stream.destroyed) resolve(stream.errored as Error | null);
      else stream.once("close", () => resolve(stream.errored as Error | null));
    }),
    5000,
    "the incoming stream to close",
  );
}

/** The next incoming stream under `event`. */
function nextStream(receiver: any, event: string): Promise<IncomingStream> {
  return withTimeout(new Promise((resolve) => streams(receiver).once(event, resolve)), 5000, `a stream "${event}"`);
}

/** A source that yields `before` bytes, then waits until `fail` is called. */
function controllableSource(before = 200 * 1024) {
  let sent = 0;
  const source = new Readable({
    highWaterMark: 16 * 1024,
    read() {
      if (sent < before) {
        sent += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024, 1));
      }
    },
  });
  return source;
}

describe.each(["server → client", "client → server"] as const)("failures, %s", (direction) => {
  async function setup() {
    const pair = await connectPair({ transports: ["websocket"] });
    const [sender, receiver] = direction === "server → client" ? [pair.server, pair.client] : [pair.client, pair.server];
    return { ...pair, sender, receiver };
  }

  it("a source error rejects emit() with that error and errors the receiver's stream", async () => {
    const { sender, receiver } = await setup();
    const source = controllableSource();
    const incoming = nextStream(receiver, "up");
    const done = streams(sender).emit("up", source);
    const stream = await incoming;
    stream.resume();
    await waitFor(stream, "data");
    const boom = new Error("disk read failed");
    source.destroy(boom);
    expect(await rejectionOf(done)).toBe(boom);
    const err = await failureOf(stream);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect((err as StreamError).remote).toBe(true);
    expect(err!.message).toContain("disk read failed");
    expect(streams(sender).outgoingCount).toBe(0);
    expect(streams(receiver).incomingCount).toBe(0);
  });

  it("a source destroyed without error fails both ends with ERR_STREAM_PREMATURE_CLOSE", async () => {
    const { sender, receiver } = await setup();
    const source = controllableSource();
    const incoming = nextStream(receiver, "up");
    const done = streams(sender).emit("up", source);
    const stream = await incoming;
    source.destroy();
    expect((await rejectionOf(done)).code).toBe(StreamErrorCodes.PREMATURE_CLOSE);
    const err = (await failureOf(stream)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.PREMATURE_CLOSE);
    expect(err.remote).toBe(true);
  });

  it("the receiver destroying its stream rejects emit() and destroys the source", async () => {
    const { sender, receiver } = await setup();
    const source = randomSource(50 * 1024 * 1024);
    const incoming = nextStream(receiver, "down");
    const done = streams(sender).emit("down", source);
    const stream = await incoming;
    stream.resume();
    await waitFor(stream, "data");
    const localError = waitFor(stream, "error");
    stream.destroy(new Error("no space left on device"));
    expect((await localError)[0].message).toBe("no space left on device");
    const err = (await rejectionOf(done)) as StreamError;
    expect(err).toBeInstanceOf(StreamError);
    expect(err.code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect(err.remote).toBe(true);
    expect(err.message).toContain("no space left on device");
    expect(source.destroyed).toBe(true);
    expect(source.produced()).toBeLessThan(50 * 1024 * 1024);
    expect(streams(sender).outgoingCount).toBe(0);
    expect(streams(receiver).incomingCount).toBe(0);
  });

  it("a destroy() without error is reported too", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "down");
    const done = streams(sender).emit("down", randomSource(10 * 1024 * 1024));
    (await incoming).destroy();
    const err = (await rejectionOf(done)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect(err.message).toContain("the receiver destroyed the stream");
  });

  it("a listener that throws fails the stream on both ends; the peer only learns that it failed", async () => {
    const { sender, receiver } = await setup();
    let seen: IncomingStream | undefined;
    streams(receiver).on("bad", (s) => {
      seen = s;
      throw new Error("secret internal detail");
    });
    const err = (await rejectionOf(streams(sender).emit("bad", randomSource(1024 * 1024)))) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect(err.message).toContain("the receiver's stream listener failed");
    expect(err.message).not.toContain("secret");
    expect((await failureOf(seen!))?.message).toBe("secret internal detail");
  });

  it("an async listener that rejects fails the stream the same way", async () => {
    const { sender, receiver } = await setup();
    streams(receiver).on("bad", async () => {
      await Promise.resolve();
      throw new Error("later");
    });
    const err = (await rejectionOf(streams(sender).emit("bad", randomSource(1024 * 1024)))) as StreamError;
    expect(err.message).toContain("the receiver's stream listener failed");
  });

  it("a stream nobody listens for is refused with ERR_STREAM_NO_LISTENER", async () => {
    const { sender, receiver } = await setup();
    streams(receiver).on("other", () => {});
    const source = randomSource(1024);
    const err = (await rejectionOf(streams(sender).emit("nobody", source))) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.NO_LISTENER);
    expect(err.message).toContain('"nobody"');
    expect(source.destroyed).toBe(true);
  });

  it("a peer without streams(socket) never answers: emit() rejects after openTimeout", async () => {
    const { sender } = await setup();
    const source = randomSource(1024);
    const started = performance.now();
    const err = (await rejectionOf(streams(sender, { openTimeout: 300 }).emit("void", source))) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.OPEN_TIMEOUT);
    expect(err.message).toContain("streams(socket)");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(source.destroyed).toBe(true);
    expect(streams(sender).outgoingCount).toBe(0);
  });

  it("streams beyond the receiver's maxIncomingStreams are refused; the others go on", async () => {
    const { sender, receiver } = await setup();
    streams(receiver, { maxIncomingStreams: 2 });
    const held: IncomingStream[] = [];
    streams(receiver).on("many", (s) => {
      held.push(s);
    });
    const first = streams(sender).emit("many", randomSource(300 * 1024));
    const second = streams(sender).emit("many", randomSource(300 * 1024));
    const third = streams(sender).emit("many", randomSource(300 * 1024));
    const err = (await rejectionOf(third)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.LIMIT);
    expect(err.message).toContain("2");
    expect(held).toHaveLength(2);
    for (const s of held) s.resume();
    await expect(first).resolves.toBe(300 * 1024);
    await expect(second).resolves.toBe(300 * 1024);
    // the finished streams freed their slots
    streams(receiver).off("many").on("many", (s) => {
      s.resume();
    });
    await expect(withTimeout(streams(sender).emit("many", randomSource(1000)), 5000, "a later stream")).resolves.toBe(1000);
  });

  it("a source yielding objects fails with ERR_STREAM_INVALID_CHUNK on both ends", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "objects");
    const source = Readable.from([Buffer.from("ok"), { not: "bytes" }]);
    const done = streams(sender).emit("objects", source);
    const stream = await incoming;
    stream.resume();
    const err = (await rejectionOf(done)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.INVALID_CHUNK);
    expect(((await failureOf(stream)) as StreamError).code).toBe(StreamErrorCodes.INVALID_CHUNK);
  });

  it("strings and Uint8Arrays from the source are sent as bytes", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "mixed");
    const done = streams(sender).emit("mixed", Readable.from(["héllo ", new Uint8Array([0x77, 0x6f]), Buffer.from("rld")]));
    const parts: Buffer[] = [];
    for await (const chunk of await incoming) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe("héllo world");
    await expect(done).resolves.toBe(Buffer.byteLength("héllo world"));
  });

  it("a receiver stream without an error listener does not crash the process when the peer aborts", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "quiet");
    const source = controllableSource();
    const done = streams(sender).emit("quiet", source);
    const stream = await incoming;
    source.destroy(new Error("gone"));
    await rejectionOf(done);
    const err = await failureOf(stream);
    expect(err).toBeInstanceOf(StreamError);
    // "close" came, and an uncaught "error" would have failed this test file
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("close() on the sender's channel fails the stream on both ends with ERR_STREAM_CLOSED", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "c");
    const done = streams(sender).emit("c", randomSource(10 * 1024 * 1024));
    const stream = await incoming;
    streams(sender).close();
    expect(((await rejectionOf(done)) as StreamError).code).toBe(StreamErrorCodes.CLOSED);
    const err = (await failureOf(stream)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.CLOSED);
    expect(err.remote).toBe(true);
  });

  it("a closed channel refuses new streams; streams(socket) then gives a working fresh one", async () => {
    const { sender, receiver } = await setup();
    const closed = streams(sender);
    closed.close();
    const source = randomSource(10);
    expect(((await rejectionOf(closed.emit("x", source))) as StreamError).code).toBe(StreamErrorCodes.CLOSED);
    expect(source.destroyed).toBe(true);
    const fresh = streams(sender);
    expect(fresh).not.toBe(closed);
    streams(receiver).on("x", (s) => {
      s.resume();
    });
    await expect(fresh.emit("x", randomSource(10))).resolves.toBe(10);
  });

  it("close() on the receiver's channel fails the stream on both ends", async () => {
    const { sender, receiver } = await setup();
    const incoming = nextStream(receiver, "c");
    const done = streams(sender).emit("c", randomSource(10 * 1024 * 1024));
    const stream = await incoming;
    streams(receiver).close();
    expect(((await rejectionOf(done)) as StreamError).code).toBe(StreamErrorCodes.CLOSED);
    expect(((await failureOf(stream)) as StreamError).code).toBe(StreamErrorCodes.CLOSED);
  });
});

describe("disconnect mid-stream", () => {
  it.each([
    ["the client disconnects", (p: any) => p.client.disconnect()],
    ["the server disconnects the socket", (p: any) => p.server.disconnect(true)],
    ["the transport is cut", (p: any) => p.server.conn.close()],
  ] as const)("%s: both directions fail with ERR_STREAM_DISCONNECTED on both ends", async (_name, cut) => {
    const pair = await connectPair({ transports: ["websocket"] });
    const toClient = nextStream(pair.client, "down");
    const toServer = nextStream(pair.server, "up");
    const downSource = randomSource(50 * 1024 * 1024);
    const upSource = randomSource(50 * 1024 * 1024);
    const down = streams(pair.server).emit("down", downSource);
    const up = streams(pair.client).emit("up", upSource);
    const [downIn, upIn] = await Promise.all([toClient, toServer]);
    downIn.resume();
    upIn.resume();
    await Promise.all([waitFor(downIn, "data"), waitFor(upIn, "data")]);
    cut(pair);
    for (const err of (await Promise.all([down, up].map((p) => rejectionOf(p)))) as StreamError[]) {
      expect(err.code).toBe(StreamErrorCodes.DISCONNECTED);
      expect(err.message).toMatch(/disconnected \(.+\)/);
    }
    for (const stream of [downIn, upIn]) {
      expect(((await failureOf(stream)) as StreamError).code).toBe(StreamErrorCodes.DISCONNECTED);
    }
    expect(downSource.destroyed && upSource.destroyed).toBe(true);
    for (const socket of [pair.server, pair.client]) {
      expect(streams(socket).outgoingCount).toBe(0);
      expect(streams(socket).incomingCount).toBe(0);
    }
  });

  it("emit() on a disconnected server socket rejects at once and destroys the source", async () => {
    const pair = await connectPair({ transports: ["websocket"] });
    const gone = waitFor(pair.server, "disconnect");
    pair.client.disconnect();
    await gone;
    const source = randomSource(1000);
    const err = (await rejectionOf(streams(pair.server).emit("late", source))) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.DISCONNECTED);
    expect(source.destroyed).toBe(true);
  });
});
