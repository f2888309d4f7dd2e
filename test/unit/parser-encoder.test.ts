import { describe, it, expect } from "vitest";
import fc from "fast-check";
import * as reference from "socket.io-parser";
import { Encoder, PacketType, type Packet } from "../../src/io/protocol/index.js";
import { fastJson, NOT_SIMPLE } from "../../src/io/protocol/fast-json.js";
import { deconstruct } from "../../src/io/protocol/binary.js";
import { ErrorCodes, TidewireError } from "../../src/core/errors.js";

const ph = (num: number) => ({ _placeholder: true, num });

/** Nested arrays `depth` levels deep around `leaf`, built without recursion. */
function deepArray(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Reference encoding with its binary parts as Buffers, for byte comparison. */
function referenceEncode(packet: Packet, replacer?: (k: string, v: any) => any): Array<string | Buffer> {
  return new reference.Encoder(replacer).encode(packet as any).map((part: any) =>
    typeof part === "string"
      ? part
      : Buffer.isBuffer(part)
        ? part
        : ArrayBuffer.isView(part)
          ? Buffer.from(part.buffer, part.byteOffset, part.byteLength)
          : Buffer.from(part),
  );
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("io/protocol encoder: protocol.md §9 table", () => {
  const enc = new Encoder();
  const rows: Array<[string, Packet, string]> = [
    ["CONNECT /", { type: PacketType.CONNECT, nsp: "/" }, "0"],
    ["CONNECT /admin with auth", { type: PacketType.CONNECT, nsp: "/admin", data: { token: "123" } }, '0/admin,{"token":"123"}'],
    [
      "CONNECT reply /",
      { type: PacketType.CONNECT, nsp: "/", data: { sid: "wZX3oN0bSVIhsaknAAAI" } },
      '0{"sid":"wZX3oN0bSVIhsaknAAAI"}',
    ],
    [
      "CONNECT_ERROR /admin",
      { type: PacketType.CONNECT_ERROR, nsp: "/admin", data: { message: "Not authorized" } },
      '4/admin,{"message":"Not authorized"}',
    ],
    ["EVENT", { type: PacketType.EVENT, nsp: "/", data: ["hey", "Jude"] }, '2["hey","Jude"]'],
    ["EVENT /admin ack 12", { type: PacketType.EVENT, nsp: "/admin", id: 12, data: ["foo"] }, '2/admin,12["foo"]'],
    ["ACK 12", { type: PacketType.ACK, nsp: "/", id: 12, data: ["bar"] }, '312["bar"]'],
    ["DISCONNECT /admin", { type: PacketType.DISCONNECT, nsp: "/admin" }, "1/admin,"],
    ["ACK with no arguments", { type: PacketType.ACK, nsp: "/", id: 0, data: [] }, "30[]"],
    ["CONNECT_ERROR with a string", { type: PacketType.CONNECT_ERROR, nsp: "/", data: "nope" }, '4"nope"'],
  ];
  it.each(rows)("%s", (_name, packet, encoded) => {
    expect(enc.encode(packet)).toEqual([encoded]);
    expect(referenceEncode(packet)).toEqual([encoded]);
  });

  it("BINARY_EVENT with one buffer: header then the buffer", () => {
    const buf = Buffer.from([1, 2, 3]);
    const out = enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["baz", buf] });
    expect(out).toEqual(['51-["baz",{"_placeholder":true,"num":0}]', buf]);
    expect(out[1]).toBe(buf);
  });
});

describe("io/protocol encoder: binary attachments (protocol.md §12)", () => {
  const enc = new Encoder();

  it("numbers placeholders in depth-first order and returns the buffers in that order", () => {
    const a = Buffer.from([1, 2, 3]);
    const b = Buffer.from([4, 5, 6]);
    expect(enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["upload", a, b] })).toEqual([
      '52-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      a,
      b,
    ]);
    const nested = { type: PacketType.EVENT, nsp: "/", data: ["x", { p: [a, { q: b }], r: a }] };
    expect(enc.encode(nested)).toEqual([
      `53-["x",{"p":[${JSON.stringify(ph(0))},{"q":${JSON.stringify(ph(1))}}],"r":${JSON.stringify(ph(2))}}]`,
      a,
      b,
      a,
    ]);
  });

  it("BINARY_ACK with id 789, and with namespace and id (protocol.md §12, §16)", () => {
    const buf = Buffer.from([1, 2, 3]);
    expect(enc.encode({ type: PacketType.ACK, nsp: "/", id: 789, data: [buf] })).toEqual([
      '61-789[{"_placeholder":true,"num":0}]',
      buf,
    ]);
    expect(enc.encode({ type: PacketType.ACK, nsp: "/admin", id: 1, data: [buf] })).toEqual([
      '61-/admin,1[{"_placeholder":true,"num":0}]',
      buf,
    ]);
  });

  it("upgrades EVENT/ACK with binary and sends BINARY_* without binary as EVENT/ACK", () => {
    const buf = Buffer.from([9]);
    expect(enc.encode({ type: PacketType.BINARY_EVENT, nsp: "/", data: ["e", buf] })[0]).toBe(
      '51-["e",{"_placeholder":true,"num":0}]',
    );
    expect(enc.encode({ type: PacketType.BINARY_EVENT, nsp: "/", data: ["e", 1] })).toEqual(['2["e",1]']);
    expect(enc.encode({ type: PacketType.BINARY_ACK, nsp: "/", id: 3, data: ["ok"] })).toEqual(['33["ok"]']);
  });

  it("sends every kind of binary as a Buffer of exactly its bytes", () => {
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const values: Array<[string, unknown, number[]]> = [
      ["Buffer", Buffer.from([1, 2]), [1, 2]],
      ["ArrayBuffer", backing.buffer.slice(0, 3), [0, 1, 2]],
      ["Uint8Array view with offset", backing.subarray(4, 7), [4, 5, 6]],
      ["Int16Array", new Int16Array([1, -1]), [1, 0, 255, 255]],
      ["Float64Array", new Float64Array([1]), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]],
      ["DataView", new DataView(backing.buffer, 8, 2), [8, 9]],
      ["Uint8ClampedArray", new Uint8ClampedArray([255]), [255]],
      ["BigInt64Array", new BigInt64Array([1n]), [1, 0, 0, 0, 0, 0, 0, 0]],
      ["empty Uint8Array", new Uint8Array(0), []],
    ];
    for (const [name, value, bytes] of values) {
      const out = enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["b", value] });
      expect(out[0], name).toBe('51-["b",{"_placeholder":true,"num":0}]');
      expect(Buffer.isBuffer(out[1]), name).toBe(true);
      expect([...(out[1] as Buffer)], name).toEqual(bytes);
    }
  });

  it("encodes large payloads (past the single-pass writer's limits) like socket.io-parser", () => {
    const buf = Buffer.from([3]);
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i % 2 ? "v" : [i]]));
    const packets: Packet[] = [
      { type: PacketType.EVENT, nsp: "/", data: ["nums", Array.from({ length: 100 }, (_, i) => i * 1.5)] },
      { type: PacketType.EVENT, nsp: "/", data: ["wide", wide] },
      { type: PacketType.EVENT, nsp: "/", data: ["late", Array.from({ length: 100 }, (_, i) => (i === 99 ? buf : i))] },
      { type: PacketType.ACK, nsp: "/", id: 1, data: [{ ...wide, b: buf }] },
      { type: PacketType.EVENT, nsp: "/", data: ["deepish", deepArray(30, buf)] },
    ];
    for (const packet of packets) expect(enc.encode(packet)).toEqual(referenceEncode(packet));
    expect(enc.encode(packets[2]!)[0]).toMatch(/^51-\["late",\[0,1,/);
  });

  it("follows toJSON one level, keeps Dates, and matches socket.io-parser byte for byte", () => {
    const buf = Buffer.from([7]);
    const date = new Date(0);
    const withToJSON = { toJSON: () => ({ inner: buf, when: date }) };
    const nestedToJSON = { toJSON: () => ({ toJSON: () => "never called by hasBinary", b: buf }) };
    const packets: Packet[] = [
      { type: PacketType.EVENT, nsp: "/", data: ["t", withToJSON] },
      { type: PacketType.EVENT, nsp: "/", data: ["t", { d: date, list: [withToJSON, buf] }] },
      { type: PacketType.EVENT, nsp: "/", data: ["t", nestedToJSON] },
      { type: PacketType.ACK, nsp: "/x", id: 4, data: [new Map([[1, buf]]), undefined, null, () => 1, buf] },
    ];
    for (const packet of packets) expect(enc.encode(packet)).toEqual(referenceEncode(packet));
  });

  it("keeps an own __proto__ key an own property of the copy it serializes", () => {
    const buf = Buffer.from([1]);
    const arg = JSON.parse('{"__proto__":{"evil":true},"b":1}');
    arg.b = buf;
    const out = enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["p", arg] });
    expect(out[0]).toBe('51-["p",{"__proto__":{"evil":true},"b":{"_placeholder":true,"num":0}}]');
    expect(({} as any).evil).toBeUndefined();
  });

  it("passes the replacer to JSON.stringify, after binary extraction as socket.io-parser does", () => {
    const replacer = (key: string, value: unknown) => (key === "secret" ? undefined : value);
    const withReplacer = new Encoder(replacer);
    const buf = Buffer.from([1]);
    const packets: Packet[] = [
      { type: PacketType.EVENT, nsp: "/", data: ["r", { secret: 1, open: 2 }] },
      { type: PacketType.EVENT, nsp: "/", data: ["r", { secret: buf, open: buf }] },
      { type: PacketType.CONNECT, nsp: "/", data: { sid: "x", secret: "y" } },
    ];
    for (const packet of packets) expect(withReplacer.encode(packet)).toEqual(referenceEncode(packet, replacer));
    expect(withReplacer.encode(packets[0]!)).toEqual(['2["r",{"open":2}]']);
  });
});

describe("io/protocol encoder: data JSON cannot carry", () => {
  const enc = new Encoder();

  it.each([20_000, 200_000])("a %i-deep value (deeper than JSON.stringify goes) is encoded all the same", (depth) => {
    const nested = (leaf: string) => "[".repeat(depth) + leaf + "]".repeat(depth);
    expect(enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["deep", deepArray(depth)] })).toEqual([
      `2["deep",${nested("1")}]`,
    ]);
    const [head, buffer] = enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["deep", deepArray(depth, Buffer.from([1]))] });
    expect(head).toBe(`51-["deep",${nested('{"_placeholder":true,"num":0}')}]`);
    expect(buffer).toEqual(Buffer.from([1]));
    expect(enc.encode({ type: PacketType.CONNECT_ERROR, nsp: "/", data: { d: deepArray(depth) } })).toEqual([
      `4{"d":${nested("1")}}`,
    ]);
  });

  it("a circular structure, a bigint or a throwing toJSON is a TidewireError (UNSUPPORTED)", () => {
    const cyclic: any = { a: 1 };
    cyclic.self = cyclic;
    const cyclicWithBinary: any = [Buffer.from([1])];
    cyclicWithBinary.push(cyclicWithBinary);
    const boom = new Error("boom");
    const cases: unknown[][] = [
      ["c", cyclic],
      ["c", cyclicWithBinary],
      ["c", 10n],
      ["c", { toJSON: () => { throw boom; } }],
    ];
    for (const data of cases) {
      const err = thrown(() => enc.encode({ type: PacketType.EVENT, nsp: "/", data }));
      expect(err).toBeInstanceOf(TidewireError);
      expect((err as TidewireError).code).toBe(ErrorCodes.UNSUPPORTED);
      expect((err as TidewireError).message).toMatch(/^Cannot encode the packet/);
    }
    const err = thrown(() => enc.encode({ type: PacketType.EVENT, nsp: "/", data: ["c", { toJSON: () => { throw boom; } }] }));
    expect((err as TidewireError).cause).toBe(boom);
  });
});

describe("io/protocol fast JSON path", () => {
  it("is exactly JSON.stringify of the deconstructed value, with the same attachments, whenever it returns a string", () => {
    const value = fc.anything({
      maxDepth: 4,
      withNullPrototype: true,
      withObjectString: true,
      withBoxedValues: true,
      withSparseArray: true,
      withDate: true,
      withMap: true,
      withTypedArray: true,
      withBigInt: false,
      withUnicodeString: true,
      key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "toJSON", "0", "1", "_placeholder")),
    });
    const json = fc.jsonValue({ maxDepth: 4 });
    let written = 0;
    let withBinary = 0;
    fc.assert(
      fc.property(fc.oneof(value, json), (v) => {
        const buffers: Buffer[] = [];
        const out = fastJson(v, buffers);
        if (out === NOT_SIMPLE) return;
        written++;
        if (buffers.length === 0) {
          expect(out).toBe(JSON.stringify(v));
        } else {
          withBinary++;
          const general = deconstruct(v);
          expect(out).toBe(JSON.stringify(general.data));
          expect(buffers).toEqual(general.buffers);
        }
      }),
      { numRuns: 400 },
    );
    // The comparisons must actually have happened for a good share of the inputs.
    expect(written).toBeGreaterThan(150);
    expect(withBinary).toBeGreaterThan(5);
  });

  it("writes the common event shapes itself, and gives up on the others", () => {
    const text = "hé \"q\" \n \ud800";
    expect(fastJson(["chat", { user: "a", text, n: -0, f: 1.5e300, x: NaN, u: undefined }, [undefined, () => 1]], [])).toBe(
      JSON.stringify(["chat", { user: "a", text, n: -0, f: 1.5e300, x: NaN }, [null, null]]),
    );
    expect(fastJson([Object.assign(Object.create(null), { a: 1 })], [])).toBe('[{"a":1}]');
    const buffers: Buffer[] = [];
    const u16 = new Uint16Array([1]);
    expect(fastJson(["x", Buffer.from([1]), { deep: { er: [u16] } }], buffers)).toBe(
      '["x",{"_placeholder":true,"num":0},{"deep":{"er":[{"_placeholder":true,"num":1}]}}]',
    );
    expect(buffers).toEqual([Buffer.from([1]), Buffer.from(u16.buffer)]);
    const odd = [
      new Date(0),
      { toJSON: () => 1 },
      Object.assign([1], { toJSON: () => 2 }),
      new String("s"),
      1n,
      new Map(),
      deepArray(40),
      new Array(33).fill(1),
      Object.fromEntries(Array.from({ length: 33 }, (_, i) => [i, i])),
    ];
    for (const v of odd) expect(fastJson(["x", v], [])).toBe(NOT_SIMPLE);
  });

  it("steps aside when Object.prototype has an enumerable property, which JSON.stringify ignores", () => {
    const data = ["chat", { user: "a" }];
    (Object.prototype as any).injected = "x";
    try {
      expect(fastJson(data, [])).toBe(NOT_SIMPLE);
      expect(new Encoder().encode({ type: PacketType.EVENT, nsp: "/", data })).toEqual(['2["chat",{"user":"a"}]']);
    } finally {
      delete (Object.prototype as any).injected;
    }
    expect(fastJson(data, [])).toBe('["chat",{"user":"a"}]');
  });
});

describe("io/protocol encoder: same bytes as socket.io-parser", () => {
  const binary = fc.oneof(
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((a) => a.slice().buffer),
    fc.float64Array({ maxLength: 2 }),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.date()),
      binary,
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 }),
    ),
  }));
  const packet = fc.record({
    type: fc.constantFrom(PacketType.EVENT, PacketType.ACK),
    nsp: fc.constantFrom("/", "/admin", "/a/b"),
    id: fc.option(fc.nat(), { nil: undefined }),
    data: fc.tuple(fc.string(), fc.array(value, { maxLength: 4 })).map(([name, args]) => [name, ...args]),
  });

  it("for random events and acks with binary anywhere", () => {
    fc.assert(
      fc.property(packet, (p) => {
        expect(new Encoder().encode(p as Packet)).toEqual(referenceEncode(p as Packet));
      }),
      { numRuns: 300 },
    );
  });

  it("is decoded by socket.io-parser's Decoder into the packet the reference encoder would give", () => {
    fc.assert(
      fc.property(packet, (p) => {
        const decode = (parts: Array<string | Buffer>) => {
          // socket.io-parser 4.2.6+ refuses more than 10 attachments by default; the
          // generated packets may carry more, and what is compared here is the encoding.
          const decoder = new reference.Decoder({ maxAttachments: Infinity });
          let out: unknown;
          decoder.on("decoded", (d: unknown) => (out = d));
          for (const part of parts) decoder.add(part);
          return out;
        };
        const ours = decode(new Encoder().encode(p as Packet));
        expect(ours).toBeDefined();
        expect(ours).toEqual(decode(referenceEncode(p as Packet)));
      }),
      { numRuns: 200 },
    );
  });
});
