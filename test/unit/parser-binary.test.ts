import { describe, it, expect } from "vitest";
import fc from "fast-check";
// socket.io-parser does not export these through its package entry; test-only comparison.
import { hasBinary as referenceHasBinary } from "../../node_modules/socket.io-parser/build/esm/is-binary.js";
import { deconstructPacket as referenceDeconstruct } from "../../node_modules/socket.io-parser/build/esm/binary.js";
import { deconstruct, hasBinary, isBinary, reconstruct, toBuffer } from "../../src/io/protocol/binary.js";
import { ErrorCodes, ParseError, TidewireError } from "../../src/core/errors.js";

const ph = (num: number) => ({ _placeholder: true, num });

function deepArray(depth: number, leaf: unknown): unknown[] {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v as unknown[];
}

function bottom(v: any, depth: number): unknown {
  for (let i = 0; i < depth; i++) v = v[0];
  return v;
}

/** Binary values of every kind, and what the decoder would hand back (a Buffer of the same bytes). */
const binary = fc.oneof(
  fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 6 }),
  fc.uint8Array({ maxLength: 6 }).map((a) => a.slice().buffer),
  fc.int32Array({ maxLength: 2 }),
  fc.uint8Array({ minLength: 2, maxLength: 6 }).map((a) => new DataView(a.buffer, 1)),
);

function values(key: fc.Arbitrary<string>) {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
      binary,
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(key, tie("value"), { maxKeys: 4 }),
    ),
  })).value;
}
/** Random JSON-able values with binary anywhere, own "__proto__" keys included. */
const value = values(fc.oneof(fc.string({ maxLength: 5 }), fc.constant("__proto__")));
/**
 * The same without "__proto__" keys, for comparisons with socket.io-parser:
 * its deconstruction copies through the __proto__ setter and loses them.
 */
const referenceSafeValue = values(fc.string({ maxLength: 5 }).filter((k) => k !== "__proto__"));

/** The value as the receiving side sees it: every binary value becomes a Buffer of its bytes. */
function asReceived(v: unknown): unknown {
  if (Object.is(v, -0)) return 0; // JSON has no negative zero
  if (isBinary(v)) return Buffer.from(toBuffer(v));
  if (Array.isArray(v)) return v.map(asReceived);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      Object.defineProperty(out, k, { value: asReceived((v as any)[k]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

describe("io/protocol binary: detection", () => {
  it("finds binary of every kind anywhere, and nothing in plain JSON", () => {
    for (const b of [Buffer.alloc(0), new ArrayBuffer(1), new Uint8Array(1), new Float32Array(1), new DataView(new ArrayBuffer(1)), new BigUint64Array(1)]) {
      expect(hasBinary(b)).toBe(true);
      expect(hasBinary([1, [2, { a: { b: [b] } }]])).toBe(true);
      expect(hasBinary({ x: 1, y: [null, b] })).toBe(true);
    }
    for (const v of [null, undefined, 0, "s", [], {}, [1, "a", { b: [null, true] }], new Date(), new Map([[1, Buffer.alloc(1)]]), new SharedArrayBuffer(1)]) {
      expect(hasBinary(v)).toBe(false);
    }
  });

  it("follows toJSON one level, as socket.io-parser 4.2.7 does", () => {
    const buf = Buffer.from([1]);
    const cases: unknown[] = [
      { toJSON: () => buf },
      { toJSON: () => ({ inner: buf }) },
      { toJSON: () => ({ toJSON: () => "not followed", b: buf }) },
      { toJSON: () => ({ toJSON: () => buf }) },
      [{ toJSON: () => [{ toJSON: () => buf }] }],
      { toJSON: () => "hidden", b: buf },
      Object.assign([1], { toJSON: () => buf }),
    ];
    for (const v of cases) expect(hasBinary(v)).toBe(referenceHasBinary(v));
    expect(hasBinary({ toJSON: () => "hidden", b: buf })).toBe(false);
    expect(hasBinary({ toJSON: () => ({ toJSON: () => buf }) })).toBe(false);
  });

  it("agrees with socket.io-parser on random values", () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(hasBinary(v)).toBe(referenceHasBinary(v));
      }),
      { numRuns: 300 },
    );
  });

  it("terminates on cycles and visits shared objects once", () => {
    const cyclic: any = { a: [1] };
    cyclic.a.push(cyclic);
    expect(hasBinary(cyclic)).toBe(false);
    cyclic.b = Buffer.alloc(1);
    expect(hasBinary(cyclic)).toBe(true);
    let shared: unknown = [1];
    for (let i = 0; i < 60; i++) shared = [shared, shared]; // 2^60 paths, 60 distinct arrays
    expect(hasBinary(shared)).toBe(false);
  });
});

describe("io/protocol binary: deconstruct / reconstruct", () => {
  it("replaces binaries depth-first and leaves the input untouched", () => {
    const a = Buffer.from([1]);
    const b = new Uint8Array([2, 3]);
    const c = new ArrayBuffer(2);
    const input = ["ev", { x: [a, { y: b }], z: c }, a];
    const { data, buffers } = deconstruct(input);
    expect(data).toStrictEqual(["ev", { x: [ph(0), { y: ph(1) }], z: ph(2) }, ph(3)]);
    expect(buffers.map((buf) => [...buf])).toEqual([[1], [2, 3], [0, 0], [1]]);
    expect(buffers.every((buf) => Buffer.isBuffer(buf))).toBe(true);
    expect(input[1]).toEqual({ x: [a, { y: b }], z: c });
  });

  it("numbers placeholders exactly as socket.io-parser's deconstructPacket", () => {
    fc.assert(
      fc.property(referenceSafeValue, (v) => {
        const ours = deconstruct(v);
        const theirs = referenceDeconstruct({ type: 2, nsp: "/", data: v });
        expect(JSON.stringify(ours.data)).toBe(JSON.stringify(theirs.packet.data));
        expect(ours.buffers.map((b) => [...b])).toEqual(theirs.buffers.map((b: any) => [...toBuffer(b)]));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips random JSON with binary anywhere through JSON text", () => {
    fc.assert(
      fc.property(value, (v) => {
        const { data, buffers } = deconstruct(v);
        const received = reconstruct(JSON.parse(JSON.stringify(data) ?? "null"), buffers.map((b) => Buffer.from(b)));
        expect(received).toStrictEqual(asReceived(v));
      }),
      { numRuns: 300 },
    );
  });

  it("throws a TidewireError on a cycle but copies shared (acyclic) objects each time", () => {
    const cyclic: any = [Buffer.alloc(1)];
    cyclic.push({ back: cyclic });
    const err = (() => {
      try {
        deconstruct(cyclic);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TidewireError);
    expect((err as TidewireError).code).toBe(ErrorCodes.UNSUPPORTED);
    const leaf = { b: Buffer.from([1]) };
    expect(deconstruct([leaf, leaf]).data).toStrictEqual([{ b: ph(0) }, { b: ph(1) }]);
  });

  it("reconstruct validates each placeholder", () => {
    const bufs = [Buffer.from([1]), Buffer.from([2])];
    expect(reconstruct(ph(1), bufs)).toBe(bufs[1]);
    expect(reconstruct([ph(0), { k: ph(1) }, ph(0)], bufs)).toStrictEqual([bufs[0], { k: bufs[1] }, bufs[0]]);
    expect(reconstruct({ _placeholder: false, num: 9 }, bufs)).toStrictEqual({ _placeholder: false, num: 9 });
    for (const bad of [ph(2), ph(-1), ph(0.5), { _placeholder: true, num: "1" }, { _placeholder: true }, { _placeholder: true, num: 0, x: 1 }, ph(NaN)]) {
      expect(() => reconstruct([bad], bufs), JSON.stringify(bad)).toThrow(ParseError);
    }
    expect(() => reconstruct([ph(0)], [])).toThrow(/illegal attachments/);
  });
});

describe("io/protocol binary: deep values never overflow the stack", () => {
  it.each([20_000, 200_000])("%i levels through hasBinary, deconstruct and reconstruct", (depth) => {
    const buf = Buffer.from([7]);
    expect(hasBinary(deepArray(depth, 1))).toBe(false);
    expect(hasBinary(deepArray(depth, buf))).toBe(true);
    expect(hasBinary(deepArray(depth, { toJSON: () => ({ b: buf }) }))).toBe(true);

    const { data, buffers } = deconstruct(deepArray(depth, buf));
    expect(buffers).toEqual([buf]);
    expect(bottom(data, depth)).toStrictEqual(ph(0));

    const rebuilt = reconstruct(data, buffers);
    expect(bottom(rebuilt, depth)).toBe(buf);

    let obj: any = ph(0);
    for (let i = 0; i < depth; i++) obj = { k: obj };
    let v: any = reconstruct(obj, buffers);
    for (let i = 0; i < depth; i++) v = v.k;
    expect(v).toBe(buf);
  });
});
