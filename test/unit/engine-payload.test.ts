import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PACKET_NAMES, type DecodedPacket, type Packet } from "../../src/engine/packet.js";
import { decodePayload, encodePayload } from "../../src/engine/payload.js";
import {
  decodePayloadV3Binary,
  decodePayloadV3Text,
  encodePayloadV3Binary,
  encodePayloadV3Text,
} from "../../src/engine/payload-v3.js";

const require = createRequire(import.meta.url);
// Reference codecs, used as oracles on valid input (paths resolved from this repo's node_modules).
const referenceV4 = require("engine.io-parser");
const referenceV3 = require(require.resolve("engine.io").replace(/engine\.io\.js$/, "parser-v3/index.js"));

const RUNS = { numRuns: 300 };
const hostileString = fc.string({
  unit: fc.oneof(
    fc.constantFrom(..."0123456789b:=+/A\x1e\u20ac"),
    fc.string({ minLength: 1, maxLength: 1 }),
    fc.constant("\u{1F600}"),
  ),
  maxLength: 80,
});
/** Text data as the protocol allows it (never the record separator). */
const text = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/\x1e/g, ""));
const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({ type: fc.constantFrom(...PACKET_NAMES), data: text.filter((s) => s.length > 0) }),
  fc.record({ type: fc.constantFrom(...PACKET_NAMES) }),
  fc.record({ type: fc.constant("message" as const), data: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) }),
);
const packetsArb = fc.array(packetArb, { minLength: 1, maxLength: 8 });

function types(packets: DecodedPacket[]) {
  return packets.map((p) => p.type);
}

describe("engine payload codec (v4)", () => {
  it("joins packets with 0x1E; binary as b<base64>", () => {
    expect(
      encodePayload([
        { type: "message", data: "hello" },
        { type: "ping" },
        { type: "message", data: Buffer.from([1, 2, 3, 4]) },
      ]),
    ).toBe("4hello\x1e2\x1ebAQIDBA==");
  });

  it("a shared cache holds the polling encoding, built once", () => {
    const cache: { polling?: string } = {};
    expect(encodePayload([{ type: "message", data: "x", options: { cache } }])).toBe("4x");
    expect(cache.polling).toBe("4x");
    expect(encodePayload([{ type: "message", data: "ignored", options: { cache } }])).toBe("4x");
  });

  it("stops at the first invalid packet, keeping the ones before it", () => {
    expect(decodePayload("4a\x1e2\x1e4b")).toEqual([
      { type: "message", data: "a" },
      { type: "ping" },
      { type: "message", data: "b" },
    ]);
    expect(types(decodePayload("4a\x1ex\x1e4b"))).toEqual(["message", "error"]);
    expect(types(decodePayload(""))).toEqual(["error"]);
    expect(types(decodePayload("4a\x1e"))).toEqual(["message", "error"]);
  });

  it("random input never throws out of the decoder", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const packets = decodePayload(s);
        // only the last packet may be an error
        return packets.slice(0, -1).every((p) => p.type !== "error");
      }),
      RUNS,
    );
  });

  it("encode → decode round-trips and matches engine.io-parser", () => {
    fc.assert(
      fc.property(packetsArb, (packets) => {
        const payload = encodePayload(packets);
        expect(decodePayload(payload)).toEqual(packets);
        referenceV4.encodePayload(packets, (expected: string) => expect(payload).toBe(expected));
        expect(types(referenceV4.decodePayload(payload))).toEqual(types(packets));
      }),
      RUNS,
    );
  });
});

describe("engine payload codec (v3 text)", () => {
  it("frames with <length>:, counted in UTF-16 code units", () => {
    expect(encodePayloadV3Text([{ type: "message", data: '2["numeric","€"]' }])).toBe('17:42["numeric","€"]');
    expect(encodePayloadV3Text([{ type: "message", data: "\u{1F600}" }])).toBe("3:4\u{1F600}");
    expect(encodePayloadV3Text([])).toBe("0:");
    expect(encodePayloadV3Text([{ type: "message", data: Buffer.from([1, 2, 3]) }])).toBe("6:b4AQID");
    expect(decodePayloadV3Text("2:4a0:3:4\u{1F600}")).toEqual([
      { type: "message", data: "a" },
      { type: "message", data: "\u{1F600}" },
    ]);
  });

  it("any framing error ends decoding with an error packet", () => {
    for (const bad of ["", "5:4a", "x:4a", ":4a", "2:4a3", "2:4a:", "12345678901:4", "1:x"]) {
      const packets = decodePayloadV3Text(bad);
      expect(packets[packets.length - 1].type).toBe("error");
    }
  });

  it("random input never throws; encode → decode round-trips and matches engine.io's v3 parser", () => {
    fc.assert(fc.property(hostileString, (s) => void decodePayloadV3Text(s)), RUNS);
    fc.assert(
      fc.property(packetsArb, (packets) => {
        const payload = encodePayloadV3Text(packets);
        expect(decodePayloadV3Text(payload)).toEqual(packets);
        referenceV3.encodePayload(packets, false, (expected: string) => expect(payload).toBe(expected));
      }),
      RUNS,
    );
  });
});

describe("engine payload codec (v3 binary)", () => {
  it("per packet: 0x00/0x01, length digits, 0xFF, the bytes", () => {
    const payload = encodePayloadV3Binary([
      { type: "message", data: "€" },
      { type: "message", data: Buffer.from([1, 2]) },
    ]);
    expect([...payload]).toEqual([0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x03, 0xff, 0x04, 0x01, 0x02]);
    expect(decodePayloadV3Binary(payload)).toEqual([
      { type: "message", data: "€" },
      { type: "message", data: Buffer.from([1, 2]) },
    ]);
    const long = encodePayloadV3Binary([{ type: "message", data: Buffer.alloc(1234) }]);
    expect([...long.subarray(0, 6)]).toEqual([0x01, 1, 2, 3, 5, 0xff]);
  });

  it("truncated or malformed input ends with an error packet", () => {
    const malformed = [
      [0x00], // no length
      [0x00, 0x05, 0xff, 0x34], // shorter than announced
      [0x02, 0x01, 0xff, 0x34], // unknown kind
      [0x00, 0x0a, 0xff], // a "digit" over 9
      [0x00, 0xff], // empty length
      [0x00, 0x02, 0xff, 0xc3, 0x28], // invalid UTF-8
    ];
    for (const bad of malformed) {
      const packets = decodePayloadV3Binary(Buffer.from(bad));
      expect(packets[packets.length - 1].type).toBe("error");
    }
  });

  it("random input never throws; encode → decode round-trips and matches engine.io's v3 parser", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (a) => void decodePayloadV3Binary(Buffer.from(a))), RUNS);
    fc.assert(
      fc.property(packetsArb, (packets) => {
        const payload = encodePayloadV3Binary(packets);
        expect(decodePayloadV3Binary(payload)).toEqual(packets.map((p) => (p.data === "" ? { type: p.type } : p)));
        referenceV3.encodePayloadAsBinary(packets, (expected: Buffer) => expect(payload.equals(expected)).toBe(true));
      }),
      RUNS,
    );
  });
});
