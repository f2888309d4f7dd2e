/**
 * The frames of session forwarding (forward/codec.ts): what is encoded
 * decodes to the same, and whatever arrives from the bus either decodes to
 * a well-formed frame or throws an Error: nothing else, never a crash.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Kind, decodeFrame, encodeFrame } from "../../src/forward/codec.js";

const tag = fc.stringMatching(/^[A-Za-z0-9_-]{6}$/);
const headers = fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.string({ maxLength: 40 })), { maxLength: 10 }).map((pairs) => pairs.flat());
const body = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

describe("forwarding frames", () => {
  it("round-trips every kind of frame", () => {
    const frames = fc.oneof(
      fc.record({ kind: fc.constant(Kind.REQUEST), meta: fc.record({ m: fc.constantFrom("GET", "POST", "OPTIONS"), u: fc.string({ maxLength: 100 }).map((s) => "/" + s), h: headers, a: fc.constant("127.0.0.1"), p: fc.integer({ min: 0, max: 65535 }) }) }),
      fc.record({ kind: fc.constant(Kind.RESPONSE), meta: fc.record({ s: fc.integer({ min: 100, max: 599 }), h: headers }) }),
      fc.record({ kind: fc.constantFrom(Kind.CANCEL, Kind.UP, Kind.DOWN, Kind.CLOSE), meta: fc.constant(null) }),
      fc.record({ kind: fc.constant(Kind.OPEN), meta: fc.record({ a: fc.constant("::1"), p: fc.integer({ min: 0, max: 65535 }) }) }),
    );
    fc.assert(
      fc.property(frames, tag, fc.nat(), body, (frame, from, id, bytes) => {
        const decoded = decodeFrame(encodeFrame(frame.kind, from, id, frame.meta, bytes));
        expect(decoded.kind).toBe(frame.kind);
        expect(decoded.from).toBe(from);
        expect(decoded.id).toBe(id >>> 0);
        expect(decoded.meta).toEqual(frame.meta);
        expect(Buffer.compare(decoded.body, bytes)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("throws an Error (only) for malformed input, including mutated valid frames", () => {
    const valid = encodeFrame(Kind.REQUEST, "abcdef", 7, { m: "GET", u: "/x", h: ["Host", "h"] }, Buffer.from("b"));
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const b = Buffer.from(valid);
        b[i] = v;
        return b;
      }),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        try {
          const frame = decodeFrame(input);
          expect(frame.kind).toBeGreaterThanOrEqual(Kind.REQUEST);
          expect(frame.kind).toBeLessThanOrEqual(Kind.CLOSE);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("checks what a request and a response describe", () => {
    const bad = (kind: number, meta: object | null) => () => decodeFrame(encodeFrame(kind as never, "abcdef", 1, meta));
    expect(bad(Kind.REQUEST, null)).toThrow(/without meta/);
    expect(bad(Kind.REQUEST, { m: "get", u: "/", h: [] })).toThrow(/method/);
    expect(bad(Kind.REQUEST, { m: "GET", u: "http://x/", h: [] })).toThrow(/url/);
    expect(bad(Kind.REQUEST, { m: "GET", u: "/", h: ["odd"] })).toThrow(/headers/);
    expect(bad(Kind.REQUEST, { m: "GET", u: "/", h: [1, 2] })).toThrow(/headers/);
    expect(bad(Kind.REQUEST, { m: "GET", u: "/", h: [], p: 70000 })).toThrow(/port/);
    expect(bad(Kind.RESPONSE, { s: 700, h: [] })).toThrow(/status/);
    expect(bad(Kind.RESPONSE, { s: 200, h: {} })).toThrow(/headers/);
    expect(() => decodeFrame(Buffer.from(encodeFrame(Kind.CANCEL, "abcdef", 1, null)).fill(9, 0, 1))).toThrow(/version/);
  });
});
