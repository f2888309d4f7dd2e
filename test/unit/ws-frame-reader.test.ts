/**
 * The built-in WebSocket frame reader: messages survive any chunking, masks
 * at any alignment, and every protocol rule ends the reading with its close
 * code before anything unbounded is allocated.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUtf8 } from "node:buffer";
import { FrameReader, isUtf8Js, MAX_FRAGMENTS, unmask, type FrameSink } from "../../src/engine/ws-frame-reader.js";

type Event =
  | { kind: "message"; binary: boolean; data: string }
  | { kind: "ping"; data: string }
  | { kind: "close"; code: number; reason: string }
  | { kind: "error"; code: number; message: string };

function recorder(): { sink: FrameSink; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      onWsMessage: (data, binary) =>
        events.push({ kind: "message", binary, data: binary ? data.toString("hex") : data.toString() }),
      onWsPing: (payload) => events.push({ kind: "ping", data: payload.toString("hex") }),
      onWsClose: (code, reason) => events.push({ kind: "close", code, reason: reason.toString() }),
      onWsError: (code, message) => events.push({ kind: "error", code, message }),
    },
  };
}

/** A client frame: masked with `mask` (4 bytes) unless it is null. */
function frame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: Buffer | null; rsv?: number } = {}): Buffer {
  const fin = opts.fin !== false;
  const mask = opts.mask === undefined ? randomBytes(4) : opts.mask;
  const len = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  const maskBit = mask === null ? 0 : 0x80;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else head.push(maskBit | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (mask === null) return Buffer.concat([Buffer.from(head), payload]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([Buffer.from(head), mask, masked]);
}

/** Feeds `bytes` cut at the given points (copies, as a socket delivers fresh chunks). */
function feedCut(reader: FrameReader, bytes: Buffer, cuts: number[]): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const p of [...points, bytes.length]) {
    if (p > start) reader.feed(Buffer.from(bytes.subarray(start, p)));
    start = p;
  }
}

const message = fc.record({
  binary: fc.boolean(),
  size: fc.oneof(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 65530, max: 65545 }), fc.integer({ min: 0, max: 5000 })),
  pieces: fc.integer({ min: 1, max: 5 }),
  ping: fc.boolean(),
  zeroMask: fc.boolean(),
});

describe("FrameReader", () => {
  it("delivers every message, fragmented or not, with pings between fragments, whatever the chunking", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const expected: Event[] = [];
        const frames: Buffer[] = [];
        for (const m of messages) {
          const payload = m.binary ? randomBytes(m.size) : Buffer.from("é".repeat(m.size >> 1) + "a".repeat(m.size & 1));
          const mask = m.zeroMask ? Buffer.alloc(4) : undefined;
          const step = Math.ceil(payload.length / m.pieces) || 1;
          const parts: Buffer[] = [];
          for (let at = 0; at < payload.length; at += step) parts.push(payload.subarray(at, at + step));
          if (parts.length === 0) parts.push(Buffer.alloc(0));
          parts.forEach((part, i) => {
            frames.push(frame(i === 0 ? (m.binary ? 2 : 1) : 0, part, { fin: i === parts.length - 1, mask }));
            if (m.ping && i === 0) {
              frames.push(frame(9, Buffer.from("p1"), { mask }));
              expected.push({ kind: "ping", data: Buffer.from("p1").toString("hex") });
            }
          });
          expected.push({ kind: "message", binary: m.binary, data: m.binary ? payload.toString("hex") : payload.toString() });
        }
        const { sink, events } = recorder();
        const reader = new FrameReader(sink, 1e6);
        feedCut(reader, Buffer.concat(frames), cuts);
        // Pings come out when read, which is before the message they interrupt completes.
        expect(events.filter((e) => e.kind === "message")).toEqual(expected.filter((e) => e.kind === "message"));
        expect(events.filter((e) => e.kind === "ping").length).toBe(expected.filter((e) => e.kind === "ping").length);
        expect(events.some((e) => e.kind === "error")).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it("the JavaScript UTF-8 check (Node < 18.14) agrees with Node's isUtf8 on random and edge bytes", () => {
    const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 12 }),
          fc.array(fc.constantFrom(...edges), { maxLength: 8 }).map((a) => Uint8Array.from(a)),
          fc.string({ unit: "binary", maxLength: 20 }).map((t) => new Uint8Array(Buffer.from(t))),
        ),
        (bytes) => {
          expect(isUtf8Js(bytes)).toBe(isUtf8(bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("unmask matches the byte-by-byte definition at every alignment and length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 300 }), fc.integer(), (offset, length, seed) => {
        const maskInt = seed >>> 0;
        const mask = [maskInt >>> 24, (maskInt >>> 16) & 0xff, (maskInt >>> 8) & 0xff, maskInt & 0xff];
        const backing = Buffer.from(randomBytes(offset + length));
        const data = backing.subarray(offset);
        const expected = Buffer.from(data.map((b, i) => b ^ mask[i & 3]));
        unmask(data, maskInt);
        expect(data.equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("a close frame: 1005 without payload, else its code and reason; nothing is read after it", () => {
    const { sink, events } = recorder();
    const reader = new FrameReader(sink, 1000);
    const payload = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from("bye")]);
    reader.feed(Buffer.concat([frame(8, payload), frame(1, Buffer.from("late"))]));
    expect(events).toEqual([{ kind: "close", code: 4000, reason: "bye" }]);
    const empty = recorder();
    new FrameReader(empty.sink, 1000).feed(frame(8, Buffer.alloc(0)));
    expect(empty.events).toEqual([{ kind: "close", code: 1005, reason: "" }]);
  });

  const violations: Array<[string, Buffer, number]> = [
    ["an unmasked frame", frame(1, Buffer.from("x"), { mask: null }), 1002],
    ["a reserved bit", frame(1, Buffer.from("x"), { rsv: 4 }), 1002],
    ["opcode 3", frame(3, Buffer.from("x")), 1002],
    ["opcode 11", frame(11, Buffer.from("x")), 1002],
    ["a continuation with nothing under way", frame(0, Buffer.from("x")), 1002],
    ["a new message inside a fragmented one", Buffer.concat([frame(1, Buffer.from("a"), { fin: false }), frame(2, Buffer.from("b"))]), 1002],
    ["a fragmented ping", frame(9, Buffer.from("x"), { fin: false }), 1002],
    ["a 126-byte ping", frame(9, Buffer.alloc(126)), 1002],
    ["a 1-byte close payload", frame(8, Buffer.from([3])), 1002],
    ["close code 1005", frame(8, Buffer.from([0x03, 0xed])), 1002],
    ["close code 2999", frame(8, Buffer.from([0x0b, 0xb7])), 1002],
    ["a close reason that is not UTF-8", frame(8, Buffer.from([0x03, 0xe8, 0xff])), 1007],
    ["a text message that is not UTF-8", frame(1, Buffer.from([0x34, 0xc3])), 1007],
    ["a fragmented text message that is not UTF-8", Buffer.concat([frame(1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0, Buffer.from([0x28]))]), 1007],
    ["a message over maxPayload", frame(2, Buffer.alloc(1001)), 1009],
    ["fragments over maxPayload together", Buffer.concat([frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(600))]), 1009],
  ];
  for (const [name, bytes, code] of violations) {
    it(`${name}: error ${code}, then nothing more is read`, () => {
      const { sink, events } = recorder();
      const reader = new FrameReader(sink, 1000);
      reader.feed(Buffer.concat([bytes, frame(1, Buffer.from("after"))]));
      expect(events.map((e) => (e.kind === "error" ? e.code : e.kind))).toEqual([code]);
      expect(reader.stopped).toBe(true);
    });
  }

  it("a declared 2^62-byte frame is refused from its header, before any allocation", () => {
    const { sink, events } = recorder();
    const reader = new FrameReader(sink, 1e6);
    // FIN|binary, MASK|127, then a 64-bit length of 2^62 and a mask: no payload follows.
    reader.feed(Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(events).toEqual([{ kind: "error", code: 1009, message: expect.stringContaining("maxHttpBufferSize") }]);
  });

  it(`1008 past ${MAX_FRAGMENTS} fragments of one message, empty ones included`, () => {
    const { sink, events } = recorder();
    const reader = new FrameReader(sink, 1e6);
    const empty = frame(0, Buffer.alloc(0), { fin: false });
    reader.feed(frame(1, Buffer.from("a"), { fin: false }));
    for (let i = 0; i < MAX_FRAGMENTS; i++) reader.feed(empty);
    expect(events.map((e) => (e.kind === "error" ? e.code : e.kind))).toEqual([1008]);
  });

  it("a message of a million one-byte fragments never holds more than one growing buffer", () => {
    const { sink, events } = recorder();
    const reader = new FrameReader(sink, 1e6);
    const one = frame(0, Buffer.from("x"), { fin: false });
    reader.feed(frame(1, Buffer.from("a"), { fin: false }));
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => one));
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 20 && events.length === 0; i++) reader.feed(burst);
    // 16,384 fragments in, the message is refused; until then at most a few KB were held.
    expect(events.map((e) => (e.kind === "error" ? e.code : e.kind))).toEqual([1008]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * 1024 * 1024);
  });
});
