import { describe, expect, it } from "vitest";
import fc from "fast-check";
import notepack from "notepack.io";
import { decode, encode, MAX_DEPTH, MsgpackError } from "../../../src/redis/msgpack/index.js";

/**
 * JSON-like values plus binary, the shapes Socket.IO packets carry between
 * nodes. `notepackSafe` leaves out what notepack.io itself encodes lossily:
 * integral doubles beyond 2^53 (as a wrapped uint 64) and -0 (as 0).
 */
const values = (notepackSafe: boolean) => fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
    fc.maxSafeInteger(),
    notepackSafe ? fc.double().filter((d) => (!Number.isInteger(d) || Math.abs(d) <= 2 ** 53) && !Object.is(d, -0)) : fc.double(),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ minLength: 30, maxLength: 70_000 }).filter((s) => s.length > 0),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.array(tie("value"), { maxLength: 20 }),
    // notepack.decode assigns keys, so a "__proto__" key changes the prototype there instead of
    // arriving as data (ours defines it as an own property): it is left out of the notepack checks.
    fc.dictionary(
      notepackSafe ? fc.string({ maxLength: 12 }).filter((k) => k !== "__proto__") : fc.string({ maxLength: 12 }),
      tie("value"),
      { maxKeys: 20 },
    ),
  ),
})).value;
const packetValue = values(false);

describe("redis/msgpack codec", () => {
  it("round-trips packet-like values", () => {
    fc.assert(
      fc.property(packetValue, (value) => {
        expect(decode(encode(value))).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it("decodes what notepack.io encodes, and notepack.io decodes what it encodes", () => {
    fc.assert(
      fc.property(values(true), (value) => {
        expect(decode(notepack.encode(value))).toEqual(value);
        expect(notepack.decode(encode(value))).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it("produces the same bytes as notepack.io for integers, strings, arrays, maps and binary", () => {
    const ints = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, -32, -33, -128, -129, -32768, -32769));
    const simple = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        ints,
        fc.boolean(),
        fc.constant(null),
        fc.string({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.array(tie("v"), { maxLength: 18 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("v"), { maxKeys: 18 }),
      ),
    })).v;
    fc.assert(
      fc.property(simple, (value) => {
        expect(encode(value).equals(notepack.encode(value))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("carries binary as raw bytes: a 64 KiB buffer costs 5 bytes of framing", () => {
    const buf = Buffer.alloc(65536, 7);
    const out = encode(["ev", buf]);
    // fixarray(1) + fixstr "ev"(3) + bin 32 header(5) + payload
    expect(out.length).toBe(1 + 3 + 5 + 65536);
    const back = decode(out) as [string, Buffer];
    expect(Buffer.isBuffer(back[1])).toBe(true);
    expect(back[1].equals(buf)).toBe(true);
  });

  it("encodes typed arrays and ArrayBuffers as bin (decoded as Buffer)", () => {
    const u16 = new Uint16Array([1, 2, 0xffff]);
    const ab = new Uint8Array([9, 8, 7]).buffer;
    const [a, b] = decode(encode([u16, ab])) as Buffer[];
    expect(a.equals(Buffer.from(u16.buffer))).toBe(true);
    expect(b.equals(Buffer.from([9, 8, 7]))).toBe(true);
  });

  it("follows JSON's rules for undefined, functions and toJSON", () => {
    const value = {
      a: undefined,
      f: () => 1,
      keep: 1,
      list: [undefined, () => 2],
      custom: { toJSON: () => "custom!" },
    };
    expect(decode(encode(value))).toEqual({ keep: 1, list: [null, null], custom: "custom!" });
    expect(notepack.decode(encode(value))).toEqual({ keep: 1, list: [null, null], custom: "custom!" });
  });

  it("encodes dates as timestamps that notepack.io reads back, and reads notepack's dates", () => {
    const dates = [new Date(0), new Date(1_700_000_000_000), new Date(1_700_000_000_123), new Date(-1234567), new Date(2 ** 36 * 1000 + 5)];
    for (const d of dates) {
      expect((decode(encode(d)) as Date).getTime()).toBe(d.getTime());
      expect((notepack.decode(encode(d)) as Date).getTime()).toBe(d.getTime());
      expect((decode(notepack.encode(d)) as Date).getTime()).toBe(d.getTime());
    }
    expect(decode(encode(new Date(NaN)))).toBe(null);
  });

  it("keeps -0, NaN and infinities as float 64", () => {
    for (const v of [-0, NaN, Infinity, -Infinity, 0.5, 2 ** 60]) expect(decode(encode(v))).toBe(v);
  });

  it("reads notepack's legacy extensions and unknown extensions", () => {
    expect(decode(Buffer.from([0xd4, 0x00, 0x00]))).toBe(undefined);
    const ab = decode(Buffer.from([0xc7, 0x02, 0x00, 0x05, 0x06])) as ArrayBuffer;
    expect(ab).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(ab)]).toEqual([5, 6]);
    expect(decode(Buffer.from([0xd5, 0x05, 0x01, 0x02]))).toEqual([5, Buffer.from([1, 2])]);
  });

  it("treats a __proto__ key as data", () => {
    const bytes = Buffer.from([0x81, 0xa9, ...Buffer.from("__proto__"), 0x81, 0xa1, 0x78, 0x01]);
    const out = decode(bytes) as any;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.x).toBe(undefined);
    expect(Object.keys(out)).toEqual(["__proto__"]);
  });

  it("refuses BigInt, circular structures and overly deep values with clear errors", () => {
    expect(() => encode({ n: 1n })).toThrow(/BigInt/);
    const circular: any = { a: 1 };
    circular.self = circular;
    expect(() => encode(circular)).toThrow(MsgpackError);
    let deep: any = [];
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = [deep];
    expect(() => encode(deep)).toThrow(/nested deeper/);
    // The encoder recovers after an error.
    expect(decode(encode({ ok: true }))).toEqual({ ok: true });
  });

  it("rejects deep, truncated, forged-length and trailing input with MsgpackError only", () => {
    expect(() => decode(Buffer.alloc(0))).toThrow(MsgpackError);
    expect(() => decode(Buffer.alloc(100_000, 0x91))).toThrow(/nested deeper/);
    expect(() => decode(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(/elements announced/);
    expect(() => decode(Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))).toThrow(/truncated/);
    expect(() => decode(Buffer.from([0x01, 0x02]))).toThrow(/trailing/);
    expect(() => decode(Buffer.from([0xc1]))).toThrow(/invalid type byte/);
    expect(() => decode(Buffer.from([0x81, 0x90, 0x01]))).toThrow(/map key/);
    expect(() => decode(Buffer.from([0xd6, 0xff, 0x00]))).toThrow(/truncated/);
    expect(() => decode(Buffer.from([0xc7, 0x03, 0xff, 0, 0, 0]))).toThrow(/timestamp/);
  });

  it("never throws anything but MsgpackError on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(MsgpackError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("survives mutations of valid documents", () => {
    fc.assert(
      fc.property(packetValue, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
        const bytes = Buffer.from(encode(value));
        bytes[at % bytes.length] = byte;
        try {
          decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(MsgpackError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
