import { describe, it, expect, afterEach } from "vitest";
import fc from "fast-check";
import * as reference from "socket.io-parser";
import * as msgpackParser from "socket.io-msgpack-parser";
import * as tidewireParser from "../../src/io/protocol/index.js";
import { Decoder, Encoder, PacketType, isPacketValid, protocol, type Packet } from "../../src/io/protocol/index.js";
import type { ParserModule } from "../../src/io/protocol/parser.js";
import { ErrorCodes, ParseError, TidewireError } from "../../src/core/errors.js";

type Chunk = string | Buffer | ArrayBuffer | Uint8Array;

/** Feeds chunks to a decoder and returns the packets it emitted. */
function decode(chunks: Chunk[], decoder: Decoder = new Decoder()): Packet[] {
  const out: Packet[] = [];
  const onDecoded = (p: Packet) => out.push(p);
  decoder.on("decoded", onDecoded);
  try {
    for (const chunk of chunks) decoder.add(chunk);
  } finally {
    decoder.off("decoded", onDecoded);
  }
  return out;
}

/** What the reference decoder emits for the chunks, or the error it throws. */
function referenceDecode(chunks: Chunk[]): { packets: unknown[]; error?: unknown } {
  const decoder = new reference.Decoder();
  const packets: unknown[] = [];
  decoder.on("decoded", (p: unknown) => packets.push(p));
  try {
    for (const chunk of chunks) decoder.add(chunk);
  } catch (error) {
    return { packets, error };
  }
  return { packets };
}

function parseError(chunks: Chunk[], decoder?: Decoder): ParseError {
  try {
    decode(chunks, decoder);
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe(ErrorCodes.PARSE);
    return err as ParseError;
  }
  throw new Error(`expected a ParseError for ${JSON.stringify(chunks)}`);
}

const ph = (num: number) => ({ _placeholder: true, num });

afterEach(() => {
  // Nothing a test decodes may reach Object.prototype.
  expect(Object.prototype).not.toHaveProperty("polluted");
  expect(Object.prototype).not.toHaveProperty("_placeholder");
});

describe("io/protocol decoder: protocol.md §9 table", () => {
  const rows: Array<[string, Packet]> = [
    ["0", { type: PacketType.CONNECT, nsp: "/" }],
    ['0/admin,{"token":"123"}', { type: PacketType.CONNECT, nsp: "/admin", data: { token: "123" } }],
    ['0{"sid":"wZX3oN0bSVIhsaknAAAI"}', { type: PacketType.CONNECT, nsp: "/", data: { sid: "wZX3oN0bSVIhsaknAAAI" } }],
    ['4/admin,{"message":"Not authorized"}', { type: PacketType.CONNECT_ERROR, nsp: "/admin", data: { message: "Not authorized" } }],
    ['2["hey","Jude"]', { type: PacketType.EVENT, nsp: "/", data: ["hey", "Jude"] }],
    ['2/admin,12["foo"]', { type: PacketType.EVENT, nsp: "/admin", id: 12, data: ["foo"] }],
    ['312["bar"]', { type: PacketType.ACK, nsp: "/", id: 12, data: ["bar"] }],
    ["1/admin,", { type: PacketType.DISCONNECT, nsp: "/admin" }],
    ['4"just a string"', { type: PacketType.CONNECT_ERROR, nsp: "/", data: "just a string" }],
    ["3[]", { type: PacketType.ACK, nsp: "/", data: [] }],
    ['2[5,"x"]', { type: PacketType.EVENT, nsp: "/", data: [5, "x"] }],
    ['2["error"]', { type: PacketType.EVENT, nsp: "/", data: ["error"] }],
  ];
  it.each(rows)("%s", (encoded, packet) => {
    const [decoded] = decode([encoded]);
    expect(decoded).toStrictEqual(packet);
    expect(referenceDecode([encoded]).packets).toEqual([packet]);
  });

  it("reads the namespace to the end of the string when no comma follows (40/admin)", () => {
    expect(decode(["0/admin"])).toStrictEqual([{ type: PacketType.CONNECT, nsp: "/admin" }]);
    expect(decode(["0/admin,"])).toStrictEqual([{ type: PacketType.CONNECT, nsp: "/admin" }]);
    expect(decode(["1/admin"])).toStrictEqual([{ type: PacketType.DISCONNECT, nsp: "/admin" }]);
  });

  it("takes the digit run before the JSON as the ack id", () => {
    expect(decode(['2/a,0["x"]'])[0]).toMatchObject({ nsp: "/a", id: 0, data: ["x"] });
    expect(decode(['2007["x"]'])[0]).toMatchObject({ id: 7 });
    expect(decode(["39007199254740991[]"])[0]).toMatchObject({ id: 9007199254740991 });
    expect(decode(["2123"])).toStrictEqual([{ type: PacketType.EVENT, nsp: "/", id: 123 }]);
  });

  it("accepts a packet with no payload at all, for every type", () => {
    for (const type of [0, 1, 2, 3, 4]) {
      expect(decode([String(type)])).toStrictEqual([{ type, nsp: "/" }]);
      expect(referenceDecode([String(type)]).packets).toEqual([{ type, nsp: "/" }]);
    }
  });

  it("delivers a JSON-encoded value the way JSON.parse does, big numbers and unicode included", () => {
    const data = ["é🎉", { n: 1e308, neg: -0.5, t: true, nil: null, nested: [[{}]] }];
    expect(decode(["2" + JSON.stringify(data)])[0]!.data).toEqual(data);
  });
});

describe("io/protocol decoder: rejection rules (protocol.md §9 rules 1-5)", () => {
  it.each([
    ["empty input", ""],
    ["unknown type 7", '7["x"]'],
    ["unknown type 9", "9"],
    ["unknown type letter", 'a["x"]'],
    ["a space as type", ' ["x"]'],
    ["a minus sign as type", "-1"],
  ])("%s", (_name, input) => {
    expect(parseError([input]).message).toMatch(/packet/);
  });

  it.each([
    ["no count", '5-["x",{"_placeholder":true,"num":0}]'],
    ["zero", '50-["x"]'],
    ["no dash", '51["x",{"_placeholder":true,"num":0}]'],
    ["nothing after the type", "5"],
    ["letters", '5a-["x"]'],
    ["a sign", '5+1-["x"]'],
    ["a decimal point", '51.0-["x"]'],
    ["a leading space", '5 1-["x"]'],
    ["more than maxAttachments", '611-[{"_placeholder":true,"num":0}]'],
    ["a huge count", "599999999999999999999-[]"],
  ])("attachment count: %s", (_name, input) => {
    expect(parseError([input]).message).toMatch(/attachments/);
  });

  it("honours maxAttachments", () => {
    expect(decode(['52-["x",{"_placeholder":true,"num":0}]', Buffer.from([1]), Buffer.from([2])])).toHaveLength(1);
    const strict = new Decoder({ maxAttachments: 1 });
    expect(parseError(['52-["x"]'], strict).message).toMatch(/too many attachments/);
    expect(() => new Decoder({ maxAttachments: -1 })).toThrow(TidewireError);
    expect(() => new Decoder({ maxAttachments: 1.5 })).toThrow(/maxAttachments/);
  });

  it.each([
    ["letters before the JSON", '2abc["x"]'],
    ["truncated JSON", '2["x"'],
    ["trailing garbage", '2["x"]]'],
    ["JavaScript, not JSON", "2['x']"],
    ["NaN", "2[NaN]"],
    ["an ack id too large to be exact", '29007199254740993["x"]'],
    ["an ack id of 400 digits", "2" + "9".repeat(400) + '["x"]'],
    ["a space inside the ack id", '2 1["x"]'],
  ])("invalid JSON or ack id: %s", (_name, input) => {
    expect(parseError([input]).message).toMatch(/invalid/);
  });

  it.each([
    ["CONNECT with an array", "0[]"],
    ["CONNECT with a string", '0"x"'],
    ["CONNECT with null", "0null"],
    ["CONNECT with a number", "0-1"],
    ["DISCONNECT with a payload", "1{}"],
    ["DISCONNECT /admin with a payload", "1/admin,[]"],
    ["EVENT []", "2[]"],
    ["EVENT {}", "2{}"],
    ["EVENT [null]", "2[null]"],
    ["EVENT [true]", "2[true]"],
    ["EVENT with an object as name", '2[{"a":1}]'],
    ["EVENT a string", '2"x"'],
    ...["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"].map(
      (name): [string, string] => [`EVENT with reserved name ${name}`, `2["${name}",1]`],
    ),
    ["ACK with an object", "3{}"],
    ["ACK with a string", '3"x"'],
    ["CONNECT_ERROR with an array", "4[]"],
    ["CONNECT_ERROR with a number", "4-2"],
    ["CONNECT_ERROR with null", "4null"],
    ["BINARY_EVENT with a reserved name", '51-["disconnect",{"_placeholder":true,"num":0}]'],
    ["BINARY_ACK with an object", '61-{"a":{"_placeholder":true,"num":0}}'],
  ])("payload check: %s", (_name, input) => {
    expect(parseError([input]).message).toMatch(/invalid payload/);
    expect(referenceDecode([input]).error).toBeDefined();
  });

  it("rejects what is neither text nor binary (an empty Engine.IO message arrives as undefined)", () => {
    for (const chunk of [undefined, null, 42, {}, ["2"], true]) {
      expect(parseError([chunk as any]).message).toMatch(/Unknown type/);
    }
  });
});

describe("io/protocol decoder: binary reassembly (protocol.md §12)", () => {
  it("waits for the announced buffers and delivers them as Buffers in an EVENT", () => {
    const decoder = new Decoder();
    const out: Packet[] = [];
    decoder.on("decoded", (p) => out.push(p));
    decoder.add('52-/up,7["upload",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]');
    expect(out).toHaveLength(0);
    decoder.add(new Uint8Array([1, 2, 3]).buffer);
    expect(out).toHaveLength(0);
    decoder.add(new Uint8Array([9, 4, 5, 6]).subarray(1));
    expect(out).toStrictEqual([
      {
        type: PacketType.EVENT,
        nsp: "/up",
        id: 7,
        data: ["upload", Buffer.from([1, 2, 3]), { nested: [Buffer.from([4, 5, 6])] }],
      },
    ]);
    expect(Buffer.isBuffer(out[0]!.data[1])).toBe(true);
    expect(Buffer.isBuffer(out[0]!.data[2].nested[0])).toBe(true);
  });

  it("delivers a BINARY_ACK as an ACK", () => {
    const buf = Buffer.from([1, 2, 3]);
    expect(decode(['61-789[{"_placeholder":true,"num":0}]', buf])).toStrictEqual([
      { type: PacketType.ACK, nsp: "/", id: 789, data: [buf] },
    ]);
  });

  it("decodes the reference polling example once the engine has turned b<base64> into bytes", () => {
    const [packet] = decode(['51-["bin",{"_placeholder":true,"num":0}]', Buffer.from("AQID", "base64")]);
    expect(packet!.data).toEqual(["bin", Buffer.from([1, 2, 3])]);
  });

  it("rejects text while reconstructing, binary when not, and a frame beyond the announced count", () => {
    expect(parseError(['51-["x",{"_placeholder":true,"num":0}]', '2["y"]']).message).toBe(
      "got plaintext data when reconstructing a packet",
    );
    expect(parseError([Buffer.from([1])]).message).toBe("got binary data when not reconstructing a packet");
    expect(parseError(['2["y"]', new ArrayBuffer(1)]).message).toBe("got binary data when not reconstructing a packet");
    const extra = new Decoder();
    const err = parseError(['51-["x",{"_placeholder":true,"num":0}]', Buffer.from([1]), Buffer.from([2])], extra);
    expect(err.message).toBe("got binary data when not reconstructing a packet");
  });

  it.each([
    ["num out of range", '51-["x",{"_placeholder":true,"num":1}]'],
    ["negative num", '51-["x",{"_placeholder":true,"num":-1}]'],
    ["fractional num", '51-["x",{"_placeholder":true,"num":0.5}]'],
    ["string num", '51-["x",{"_placeholder":true,"num":"0"}]'],
    ["missing num", '51-["x",{"_placeholder":true}]'],
    ["extra key", '51-["x",{"_placeholder":true,"num":0,"more":1}]'],
  ])("rejects a bad placeholder: %s", (_name, header) => {
    expect(parseError([header, Buffer.from([1])]).message).toMatch(/illegal attachments/);
  });

  it("leaves _placeholder objects of a plain EVENT alone", () => {
    const [packet] = decode(['2["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":99}]']);
    expect(packet!.data).toStrictEqual(["x", ph(0), ph(99)]);
    const [loose] = decode(['51-["x",{"_placeholder":"true","num":5},{"_placeholder":true,"num":0}]', Buffer.from([1])]);
    expect(loose!.data).toStrictEqual(["x", { _placeholder: "true", num: 5 }, Buffer.from([1])]);
  });

  it("destroy() drops a half-built packet; the decoder then starts afresh", () => {
    const decoder = new Decoder();
    const out: Packet[] = [];
    decoder.on("decoded", (p) => out.push(p));
    decoder.add('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    decoder.add(Buffer.from([1]));
    decoder.destroy();
    expect(() => decoder.add(Buffer.from([2]))).toThrow(/not reconstructing/);
    decoder.add('2["after"]');
    expect(out).toStrictEqual([{ type: PacketType.EVENT, nsp: "/", data: ["after"] }]);
  });

  it("a ParseError during reconstruction leaves the decoder usable for the next packet", () => {
    const decoder = new Decoder();
    parseError(['51-["x",{"_placeholder":true,"num":3}]', Buffer.from([1])], decoder);
    expect(decode(['2["next"]'], decoder)).toHaveLength(1);
  });
});

describe("io/protocol decoder: hostile input", () => {
  it("keeps __proto__ keys as own properties, in plain and in binary packets", () => {
    const [plain] = decode(['2["x",{"__proto__":{"polluted":true}},{"a":{"__proto__":{"polluted":1}}}]']);
    const arg = plain!.data[1];
    expect(Object.getPrototypeOf(arg)).toBe(Object.prototype);
    expect(Object.hasOwn(arg, "__proto__")).toBe(true);
    expect(arg.polluted).toBeUndefined();

    const buf = Buffer.from([1]);
    const [binary] = decode(['51-["x",{"__proto__":{"_placeholder":true,"num":0}}]', buf]);
    const obj = binary!.data[1];
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(obj, "__proto__")!.value).toBe(buf);

    const [connect] = decode(['0{"__proto__":{"polluted":true}}']);
    expect(Object.getPrototypeOf(connect!.data)).toBe(Object.prototype);
    expect(({} as any).polluted).toBeUndefined();
  });

  it.each([20_000, 200_000])("decodes a %i-deep array, plain and with a placeholder at the bottom", (depth) => {
    const nested = "[".repeat(depth) + "]".repeat(depth);
    const [plain] = decode([`2["deep",${nested}]`]);
    expect(Array.isArray(plain!.data[1])).toBe(true);
    const buf = Buffer.from([42]);
    const withPlaceholder = "[".repeat(depth) + JSON.stringify(ph(0)) + "]".repeat(depth);
    const [binary] = decode([`51-["deep",${withPlaceholder}]`, buf]);
    let v = binary!.data[1];
    for (let i = 0; i < depth; i++) v = v[0];
    expect(v).toBe(buf);
  });

  it("turns a reviver's stack overflow on deep input into a ParseError", () => {
    const decoder = new Decoder({ reviver: (_k, v) => v });
    const depth = 200_000;
    expect(parseError([`2["deep",${"[".repeat(depth)}${"]".repeat(depth)}]`], decoder).message).toMatch(/invalid payload/);
  });

  it("throws nothing but ParseError for random strings", () => {
    const decoder = new Decoder();
    decoder.on("decoded", () => {});
    const alphabet = fc.constantFrom(..."0123456-/,[]{}\":_ptrue,num{}abc 9".split(""));
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: alphabet, maxLength: 40 }),
      fc.tuple(fc.constantFrom("2", "5", "6", "0/", "51-", "52-/a,", "3"), fc.string({ unit: alphabet, maxLength: 30 })).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(text, (s) => {
        try {
          decoder.add(s);
        } catch (err) {
          expect(err).toBeInstanceOf(ParseError);
          decoder.destroy();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("throws nothing but ParseError for random sequences of text and buffers", () => {
    const chunk = fc.oneof(
      fc.constantFrom('51-["x",{"_placeholder":true,"num":0}]', '62-[{"_placeholder":true,"num":1},2]', '2["ok"]', "0", "51-"),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
      fc.uint8Array({ maxLength: 4 }).map((a) => a.buffer as ArrayBuffer),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 8 }), (chunks) => {
        const decoder = new Decoder();
        decoder.on("decoded", () => {});
        for (const c of chunks) {
          try {
            decoder.add(c);
          } catch (err) {
            expect(err).toBeInstanceOf(ParseError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("wraps a throwing reviver into a ParseError and accepts the function form of the option", () => {
    const decoder = new Decoder(() => {
      throw new Error("reviver says no");
    });
    expect(parseError(['2["x"]'], decoder).message).toMatch(/reviver says no/);
    const upper = new Decoder({ reviver: (_k, v) => (typeof v === "string" ? v.toUpperCase() : v) });
    expect(decode(['2["shout"]'], upper)[0]!.data).toEqual(["SHOUT"]);
  });
});

describe("io/protocol decoder: agreement with socket.io-parser", () => {
  it("decodes what the reference encoder produced into the packet the reference decoder gives", () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const packet = fc.oneof(
      fc.record({
        type: fc.constantFrom(PacketType.EVENT, PacketType.ACK),
        nsp: fc.constantFrom("/", "/admin", "/a-b_c"),
        id: fc.option(fc.nat(), { nil: undefined }),
        data: fc.tuple(fc.string(), fc.array(fc.oneof(json, fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a))), { maxLength: 4 })).map(
          ([name, args]) => [name, ...args],
        ),
      }),
      fc.record({ type: fc.constant(PacketType.CONNECT), nsp: fc.constantFrom("/", "/x"), data: fc.option(fc.dictionary(fc.string(), json), { nil: undefined }) }),
      fc.record({ type: fc.constant(PacketType.CONNECT_ERROR), nsp: fc.constant("/x"), data: fc.oneof(fc.string(), fc.record({ message: fc.string() })) }),
      fc.record({ type: fc.constant(PacketType.DISCONNECT), nsp: fc.constantFrom("/", "/x") }),
    );
    fc.assert(
      fc.property(packet, (p) => {
        const parts = new reference.Encoder().encode(p as any);
        const expected = referenceDecode(parts);
        expect(expected.error).toBeUndefined();
        const ours = decode(parts);
        expect(ours).toEqual(expected.packets);
        expect(ours.every((o) => isPacketValid(o))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts and rejects like the reference on a corpus of edge cases", () => {
    const corpus = [
      "0", "0/", "0/,", "0/a,b,{}", "0/a{}", '0/a,{"x":1}', "0{}", "1", "1/x", "2", "3", "4", "5", "6", "2/", "2,[\"x\"]",
      '2/x,["a"]', '2/x,1["a"]', '21["a"]', '2["a",null]', "2[1]", "2[-1.5e3]", '2["a"]x', "3[1,2]", "3/x,5[]",
      '4{"message":"m","data":1}', '51-["a",{"_placeholder":true,"num":0}]', '51-/n,1["a",{"_placeholder":true,"num":0}]',
      "61-[]", '5-1["a"]', "2{", "2]", '2/x,"a"', "0null", "0[]", '0"s"', '4"s"', "41", "4true",
    ];
    for (const input of corpus) {
      const chunks: Chunk[] = input.startsWith("5") || input.startsWith("6") ? [input, Buffer.from([1])] : [input];
      const expected = referenceDecode(chunks);
      let ours: Packet[] | undefined;
      let error: unknown;
      try {
        ours = decode(chunks);
      } catch (err) {
        error = err;
      }
      expect(error === undefined, `${input} accepted`).toBe(expected.error === undefined);
      if (error !== undefined) expect(error, input).toBeInstanceOf(ParseError);
      else expect(ours, input).toEqual(expected.packets);
    }
  });
});

describe("io/protocol module shape and parser contract", () => {
  it("exports what socket.io-parser exports", () => {
    expect(protocol).toBe(reference.protocol);
    for (const name of Object.keys(reference.PacketType)) {
      expect((PacketType as any)[name]).toBe((reference.PacketType as any)[name]);
    }
    for (const name of ["Encoder", "Decoder", "isPacketValid", "protocol", "PacketType"]) {
      expect(tidewireParser, name).toHaveProperty(name);
    }
  });

  it("isPacketValid agrees with socket.io-parser's", () => {
    const samples: any[] = [
      { type: 0, nsp: "/" }, { type: 0, nsp: "/", data: { a: 1 } }, { type: 0, nsp: "/", data: [] }, { type: 0, nsp: 1 },
      { type: 1, nsp: "/" }, { type: 1, nsp: "/", data: 1 }, { type: 2, nsp: "/", data: ["x"] }, { type: 2, nsp: "/", data: [1] },
      { type: 2, nsp: "/", data: ["connect"] }, { type: 2, nsp: "/" }, { type: 2, nsp: "/", data: ["x"], id: 1.5 },
      { type: 2, nsp: "/", data: ["x"], id: 3 }, { type: 3, nsp: "/", data: [] }, { type: 3, nsp: "/", data: {} },
      { type: 4, nsp: "/", data: "e" }, { type: 4, nsp: "/", data: { message: "m" } }, { type: 4, nsp: "/", data: 3 },
      { type: 5, nsp: "/", data: ["x"] }, { type: 6, nsp: "/", data: [] }, { type: 9, nsp: "/" }, { type: 2, nsp: "/", data: [new Date()] },
    ];
    for (const p of samples) expect(isPacketValid(p), JSON.stringify(p)).toBe(reference.isPacketValid(p));
  });

  it.each([
    ["tidewire", tidewireParser as unknown as ParserModule],
    ["socket.io-parser", reference as unknown as ParserModule],
    ["socket.io-msgpack-parser", msgpackParser as unknown as ParserModule],
  ])("%s satisfies the ParserModule contract the Socket layer uses", (_name, mod) => {
    const encoder = new mod.Encoder();
    const decoder = new mod.Decoder();
    const received: Packet[] = [];
    const ret = decoder.on("decoded", (p: Packet) => received.push(p));
    expect(ret).toBeDefined();
    const packets: Packet[] = [
      { type: PacketType.CONNECT, nsp: "/admin", data: { token: "t" } },
      { type: PacketType.EVENT, nsp: "/", id: 1, data: ["bin", Buffer.from([1, 2])] },
      { type: PacketType.ACK, nsp: "/", id: 1, data: ["ok"] },
    ];
    for (const packet of packets) {
      const parts = encoder.encode(packet);
      expect(Array.isArray(parts)).toBe(true);
      for (const part of parts) decoder.add(part);
    }
    expect(received).toHaveLength(3);
    expect(received[0]).toMatchObject({ type: PacketType.CONNECT, nsp: "/admin", data: { token: "t" } });
    expect(received[1]!.nsp).toBe("/");
    expect(received[1]!.id).toBe(1);
    expect(received[1]!.data[0]).toBe("bin");
    expect([...new Uint8Array(received[1]!.data[1])]).toEqual([1, 2]);
    expect(received[2]).toMatchObject({ type: PacketType.ACK, id: 1, data: ["ok"] });
    decoder.destroy();
  });

  it("tidewire's Encoder output is read by tidewire's Decoder unchanged", () => {
    const enc = new Encoder();
    const packet: Packet = { type: PacketType.EVENT, nsp: "/n", id: 2, data: ["m", { b: Buffer.from([5]), list: [1, "two"] }] };
    expect(decode(enc.encode(packet))).toStrictEqual([packet]);
  });
});
