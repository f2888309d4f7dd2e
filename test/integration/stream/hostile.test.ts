/**
 * A hostile peer speaking the control events directly. Whatever it sends,
 * the damage stays within the stream it addresses: that stream fails with
 * ERR_STREAM_PROTOCOL (the peer is told), the process and the connection
 * survive, and memory stays bounded.
 */
import { afterEach, describe, expect, it } from "vitest";
import { StreamError, StreamErrorCodes, streams, STREAM_EVENT_PREFIX, type IncomingStream } from "../../../src/stream/index.js";
import { closeAll, connectPair, rejectionOf, waitFor, withTimeout } from "./helpers.js";

afterEach(closeAll);

const EV = {
  OPEN: `${STREAM_EVENT_PREFIX}open`,
  DATA: `${STREAM_EVENT_PREFIX}data`,
  END: `${STREAM_EVENT_PREFIX}end`,
  ERROR: `${STREAM_EVENT_PREFIX}error`,
  CREDIT: `${STREAM_EVENT_PREFIX}credit`,
  DONE: `${STREAM_EVENT_PREFIX}done`,
  ABORT: `${STREAM_EVENT_PREFIX}abort`,
  RECEIVED: `${STREAM_EVENT_PREFIX}received`,
};
const WINDOW = 4096;

/** The server runs tidewire/stream; the raw client is the attacker. */
async function setup() {
  const pair = await connectPair({ transports: ["websocket"] });
  const channel = streams(pair.server, { window: WINDOW, maxIncomingStreams: 4 });
  const opened: IncomingStream[] = [];
  channel.on("h", (stream) => {
    opened.push(stream);
  });
  const attacker = pair.client;
  /** Replies about streams; delivery reports (per connection, not per stream) go to `received`. */
  const replies: Array<[string, ...unknown[]]> = [];
  const received: number[] = [];
  attacker.onAny((event: string, ...args: unknown[]) => {
    if (event === EV.RECEIVED) received.push(args[0] as number);
    else if (event.startsWith(STREAM_EVENT_PREFIX)) replies.push([event.slice(STREAM_EVENT_PREFIX.length), ...args]);
  });
  /** A round trip through the server: everything sent before has been handled and answered. */
  const settle = async () => {
    const pong = waitFor(attacker, "pong");
    pair.server.once("ping", () => pair.server.emit("pong"));
    attacker.emit("ping");
    await pong;
  };
  return { ...pair, channel, opened, attacker, replies, received, settle };
}

/** The error an incoming stream ends with. */
function failureOf(stream: IncomingStream): Promise<StreamError> {
  return withTimeout(
    new Promise((resolve) => {
      if (stream.destroyed) resolve(stream.errored as StreamError);
      else stream.once("close", () => resolve(stream.errored as StreamError));
    }),
    3000,
    "the stream to fail",
  );
}

describe("hostile control messages towards the receiver", () => {
  it("invalid stream ids are ignored without reply", async () => {
    const { attacker, opened, replies, received, settle, server } = await setup();
    for (const id of [0, -1, 1.5, "1", null, 2 ** 60, {}, [1]]) {
      attacker.emit(EV.OPEN, id, "h", []);
      attacker.emit(EV.DATA, id, Buffer.from("x"));
      attacker.emit(EV.END, id, 1);
    }
    await settle();
    expect(opened).toHaveLength(0);
    expect(replies).toEqual([]);
    // binary data is counted as delivered whatever its stream: the sender counted it as sent
    // (the report leaves in the turn after the data, so after the pong: one more round trip)
    await settle();
    expect(received.at(-1)).toBe(8);
    expect(server.connected).toBe(true);
  });

  it("data or end for a stream never opened is answered with a protocol abort", async () => {
    const { attacker, replies, settle } = await setup();
    attacker.emit(EV.DATA, 5, Buffer.from("x"));
    attacker.emit(EV.END, 6, 0);
    await settle();
    expect(replies).toEqual([
      ["abort", 5, "unknown stream id 5", StreamErrorCodes.PROTOCOL],
      ["abort", 6, "unknown stream id 6", StreamErrorCodes.PROTOCOL],
    ]);
  });

  it("late messages for a finished stream are ignored", async () => {
    const { attacker, opened, replies, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    await settle();
    opened[0].resume();
    attacker.emit(EV.DATA, 1, Buffer.from("abc"));
    attacker.emit(EV.END, 1, 3);
    await waitFor(opened[0], "end");
    await settle();
    replies.length = 0;
    attacker.emit(EV.DATA, 1, Buffer.from("more"));
    attacker.emit(EV.END, 1, 7);
    attacker.emit(EV.ERROR, 1, "late");
    await settle();
    expect(replies).toEqual([]);
  });

  it("malformed opens, reused and decreasing ids are refused", async () => {
    const { attacker, opened, replies, settle } = await setup();
    attacker.emit(EV.OPEN, 3, 42, []);
    attacker.emit(EV.OPEN, 4, "h", "not an array");
    attacker.emit(EV.OPEN, 10, "h", []);
    await settle();
    expect(opened).toHaveLength(1);
    const first = opened[0];
    attacker.emit(EV.OPEN, 10, "h", []); // reuse: the open stream with that id fails too
    attacker.emit(EV.OPEN, 9, "h", []);
    await settle();
    expect(opened).toHaveLength(1);
    expect((await failureOf(first)).code).toBe(StreamErrorCodes.PROTOCOL);
    const aborts = replies.filter(([kind]) => kind === "abort");
    expect(aborts.map(([, id, , code]) => [id, code])).toEqual([
      [3, StreamErrorCodes.PROTOCOL],
      [4, StreamErrorCodes.PROTOCOL],
      [10, StreamErrorCodes.PROTOCOL],
      [9, StreamErrorCodes.PROTOCOL],
    ]);
  });

  it.each([
    ["a string chunk", "text"],
    ["a number chunk", 12345],
    ["an object chunk", { length: 10 }],
    ["an array chunk", [1, 2, 3]],
    ["an empty chunk", Buffer.alloc(0)],
    ["a chunk beyond the granted credit", Buffer.alloc(WINDOW + 1)],
  ])("%s fails that stream with ERR_STREAM_PROTOCOL and tells the peer", async (_name, chunk) => {
    const { attacker, opened, replies, settle, server, channel } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    attacker.emit(EV.OPEN, 2, "h", []);
    await settle();
    expect(replies).toContainEqual(["credit", 1, 0, WINDOW]);
    attacker.emit(EV.DATA, 1, chunk);
    const err = await failureOf(opened[0]);
    expect(err).toBeInstanceOf(StreamError);
    expect(err.code).toBe(StreamErrorCodes.PROTOCOL);
    await settle();
    expect(replies.filter(([kind]) => kind === "abort")).toEqual([["abort", 1, err.message, StreamErrorCodes.PROTOCOL]]);
    // the other stream and the connection are unaffected
    expect(opened[1].destroyed).toBe(false);
    attacker.emit(EV.DATA, 2, Buffer.from("fine"));
    attacker.emit(EV.END, 2, 4);
    const parts: Buffer[] = [];
    for await (const part of opened[1]) parts.push(part);
    expect(Buffer.concat(parts).toString()).toBe("fine");
    expect(server.connected).toBe(true);
    expect(channel.incomingCount).toBe(0);
  });

  it("thousands of one-byte chunks are kept as a few buffers, not one object per message", async () => {
    const { attacker, opened, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    await settle();
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    for (let i = 0; i < bytes.length; i++) attacker.emit(EV.DATA, 1, bytes.subarray(i, i + 1));
    attacker.emit(EV.END, 1, bytes.length);
    await settle();
    // Flowing mode hands out the held buffers one by one: their number shows.
    const parts: Buffer[] = [];
    opened[0].on("data", (part: Buffer) => parts.push(part));
    await waitFor(opened[0], "end");
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(parts.length).toBeLessThanOrEqual(3);
  });

  it("small chunks arriving while the reader reads still come through promptly and in order", async () => {
    const { attacker, opened, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    await settle();
    const stream = opened[0];
    const got: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => got.push(chunk));
    for (let round = 0; round < 20; round++) {
      const arrived = waitFor(stream, "data");
      attacker.emit(EV.DATA, 1, Buffer.from([round]));
      await withTimeout(arrived, 2000, `byte ${round}`);
    }
    attacker.emit(EV.DATA, 1, Buffer.alloc(2000, 7));
    attacker.emit(EV.END, 1, 2020);
    await waitFor(stream, "end");
    expect(Buffer.concat(got)).toEqual(Buffer.concat([Buffer.from(Array.from({ length: 20 }, (_, i) => i)), Buffer.alloc(2000, 7)]));
  });

  it("credit is enforced cumulatively, across chunks", async () => {
    const { attacker, opened, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    await settle();
    attacker.emit(EV.DATA, 1, Buffer.alloc(WINDOW - 10));
    attacker.emit(EV.DATA, 1, Buffer.alloc(11));
    expect((await failureOf(opened[0])).message).toMatch(/exceeds the remaining credit of 10 bytes/);
  });

  it.each([
    ["an end with the wrong byte count", [[EV.DATA, Buffer.from("abc")], [EV.END, 4]], /announces 4 bytes but 3 arrived/],
    ["an end with a non-number count", [[EV.END, "0"]], /announces string "0" bytes but 0 arrived/],
    ["data after the end", [[EV.END, 0], [EV.DATA, Buffer.from("x")]], /after the end/],
    ["two ends", [[EV.END, 0], [EV.END, 0]], /ended twice/],
  ] as const)("%s fails the stream", async (_name, messages, pattern) => {
    const { attacker, opened, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    await settle();
    for (const [event, arg] of messages) attacker.emit(event, 1, arg);
    const err = await failureOf(opened[0]);
    expect(err.code).toBe(StreamErrorCodes.PROTOCOL);
    expect(err.message).toMatch(pattern);
  });

  it("an error message from the peer is bounded and its code checked", async () => {
    const { attacker, opened, settle } = await setup();
    attacker.emit(EV.OPEN, 1, "h", []);
    attacker.emit(EV.OPEN, 2, "h", []);
    await settle();
    attacker.emit(EV.ERROR, 1, "x".repeat(500_000), "ERR_MADE_UP");
    attacker.emit(EV.ERROR, 2, { toString: "no" }, { code: 1 });
    const [first, second] = await Promise.all([failureOf(opened[0]), failureOf(opened[1])]);
    expect(first.code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect(first.message.length).toBeLessThan(1200);
    expect(second.code).toBe(StreamErrorCodes.REMOTE_ABORT);
    expect(second.message).toContain("no reason given");
  });

  it("a flood of opens is capped at maxIncomingStreams", async () => {
    const { attacker, opened, replies, settle, channel } = await setup();
    for (let id = 1; id <= 500; id++) attacker.emit(EV.OPEN, id, "h", []);
    await settle();
    expect(opened).toHaveLength(4);
    expect(channel.incomingCount).toBe(4);
    const limits = replies.filter(([kind, , , code]) => kind === "abort" && code === StreamErrorCodes.LIMIT);
    expect(limits).toHaveLength(496);
  });
});

describe("hostile control messages towards the sender", () => {
  /** The server sends a stream; the raw client receives it. */
  async function sending() {
    const ctx = await setup();
    const opened = waitFor(ctx.attacker, EV.OPEN);
    const source = new (await import("node:stream")).Readable({ read() {} });
    source.push(Buffer.alloc(1000, 1));
    const done = ctx.channel.emit("down", source);
    const [id] = await opened;
    return { ...ctx, id: id as number, done, source };
  }

  it.each([
    ["a negative window", [EV.CREDIT, 0, -1]],
    ["a fractional window", [EV.CREDIT, 0, 1.5]],
    ["a window beyond safe integers", [EV.CREDIT, 0, 2 ** 60]],
    ["a string window", [EV.CREDIT, 0, "100"]],
    ["a missing window", [EV.CREDIT, 0]],
    ["a negative consumed count", [EV.CREDIT, -5, 100]],
    ["more consumed than sent", [EV.CREDIT, 1, 100]],
    ["done before the end", [EV.DONE]],
  ] as const)("%s fails the stream with ERR_STREAM_PROTOCOL and destroys the source", async (_name, [event, ...args]) => {
    const { attacker, id, done, source, replies, settle, server, channel } = await sending();
    attacker.emit(event, id, ...args);
    const err = (await rejectionOf(done)) as StreamError;
    expect(err.code).toBe(StreamErrorCodes.PROTOCOL);
    expect(source.destroyed).toBe(true);
    await settle();
    expect(replies.at(-1)).toEqual(["error", id, err.message, StreamErrorCodes.PROTOCOL]);
    expect(server.connected).toBe(true);
    expect(channel.bytesInFlight).toBe(0);
  });

  it("credit, done and abort for ids the sender never used are ignored", async () => {
    const { attacker, id, done, source, settle, channel } = await sending();
    attacker.emit(EV.CREDIT, id + 1, 0, 1000);
    attacker.emit(EV.DONE, id + 1);
    attacker.emit(EV.ABORT, id + 1, "no");
    attacker.emit(EV.ABORT, "x", "no");
    await settle();
    expect(channel.outgoingCount).toBe(1);
    expect(source.destroyed).toBe(false);
    attacker.emit(EV.ABORT, id, "bye");
    expect(((await rejectionOf(done)) as StreamError).message).toContain("bye");
  });

  it("delivery reports beyond what was sent, or going backwards, are ignored", async () => {
    const { attacker, id, done, settle, channel } = await sending();
    attacker.emit(EV.CREDIT, id, 0, 600);
    await settle();
    expect(channel.bytesInFlight).toBe(600);
    for (const bogus of [601, -1, 1.5, "600", null, 2 ** 60]) attacker.emit(EV.RECEIVED, bogus);
    await settle();
    expect(channel.bytesInFlight).toBe(600);
    attacker.emit(EV.RECEIVED, 500);
    attacker.emit(EV.RECEIVED, 400);
    await settle();
    expect(channel.bytesInFlight).toBe(100);
    attacker.emit(EV.ABORT, id, "enough");
    await rejectionOf(done);
  });

  it("a shrinking credit is ignored; data never passes the highest limit", async () => {
    const { attacker, id, done, replies, settle } = await sending();
    attacker.emit(EV.CREDIT, id, 0, 300);
    attacker.emit(EV.CREDIT, id, 0, 100);
    await settle();
    const sentBytes = () => replies.filter(([kind]) => kind === "data").reduce((n, [, , chunk]) => n + (chunk as Buffer).length, 0);
    expect(sentBytes()).toBe(300);
    // an older consumed count changes nothing either
    attacker.emit(EV.CREDIT, id, 200, 200);
    attacker.emit(EV.CREDIT, id, 100, 250);
    await settle();
    expect(sentBytes()).toBe(400);
    attacker.emit(EV.ABORT, id, "enough");
    await rejectionOf(done);
  });
});
