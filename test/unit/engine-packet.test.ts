import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, decodePacket, encodePacket, PACKET_NAMES, type Packet } from "../../src/engine/packet.js";
import { decodePacketV3, encodeBinaryPacketV3, encodePacketV3 } from "../../src/engine/payload-v3.js";
import { binaryFrame, binaryFrameHeader, frameHeaderSize, textFrame } from "../../src/engine/ws-frame.js";

const require = createRequire(import.meta.url);
// The reference codec, used as an oracle on valid input.
const reference = require("engine.io-parser");

const RUNS = { numRuns: 300 };
/** Strings biased towards the characters the codecs branch on. */
const hostileString = fc.string({
  unit: fc.oneof(
    fc.constantFrom(..."0123456789b:=+/A\x1e\u20ac"),
    fc.string({ minLength: 1, maxLength: 1 }),
    fc.constant("\u{1F600}"),
  ),
  maxLength: 60,
});
const packetType = fc.constantFrom(...PACKET_NAMES);
/** Arbitrary packets as a sender may queue them: binary data only on messages. */
const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({ type: packetType, data: fc.string({ unit: "grapheme" }) }),
  fc.record({ type: packetType }),
  fc.record({ type: fc.constant("message" as const), data: fc.uint8Array().map((a) => Buffer.from(a)) }),
);

describe("engine packet codec (v4)", () => {
  it("encodes every type as <digit><data>, binary as b<base64>", () => {
    expect(PACKET_NAMES.map((type) => encodePacket({ type }))).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
    expect(encodePacket({ type: "message", data: "hello" })).toBe("4hello");
    expect(encodePacket({ type: "pong", data: "probe" })).toBe("3probe");
    expect(encodePacket({ type: "message", data: Buffer.from([1, 2, 3, 4]) })).toBe("bAQIDBA==");
  });

  it("decodes text, base64 and raw binary; anything else is a parse error", () => {
    expect(decodePacket("4hello")).toEqual({ type: "message", data: "hello" });
    expect(decodePacket("2")).toEqual({ type: "ping" });
    expect(decodePacket("2probe")).toEqual({ type: "ping", data: "probe" });
    expect(decodePacket("4")).toEqual({ type: "message" });
    expect(decodePacket("bAQIDBA==")).toEqual({ type: "message", data: Buffer.from([1, 2, 3, 4]) });
    expect(decodePacket("bAQIDBA")).toEqual({ type: "message", data: Buffer.from([1, 2, 3, 4]) });
    expect(decodePacket(Buffer.from([9]))).toEqual({ type: "message", data: Buffer.from([9]) });
    for (const bad of ["", "7", "x", "/", ":", " 4", "b!!", "bA", "bAQ=D"]) {
      expect(decodePacket(bad).type).toBe("error");
    }
  });

  it("decodeBase64 accepts only the standard alphabet", () => {
    expect(decodeBase64("xAQID", 1)).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeBase64("", 0)).toEqual(Buffer.alloc(0));
    expect(decodeBase64("AQ-_", 0)).toBe(null);
    expect(decodeBase64("AQ ID", 0)).toBe(null);
  });

  it("random input never throws out of the decoder", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const p = decodePacket(s);
        return p.type === "error" || PACKET_NAMES.includes(p.type);
      }),
      RUNS,
    );
    fc.assert(fc.property(fc.uint8Array(), (a) => void decodePacket(Buffer.from(a))), RUNS);
  });

  it("encode → decode round-trips, and agrees with engine.io-parser", () => {
    fc.assert(
      fc.property(packetArb, (packet) => {
        const text = encodePacket(packet);
        const back = decodePacket(text);
        // an empty string leaves no data behind the type digit
        expect(back).toEqual(packet.data === "" ? { type: packet.type } : packet);
        reference.encodePacket(packet, false, (expected: string) => expect(text).toBe(expected));
        const theirs = reference.decodePacket(text);
        expect(theirs.type).toBe(back.type);
      }),
      RUNS,
    );
  });
});

describe("engine packet codec (v3)", () => {
  it("binary keeps its type: b4<base64> as text, a leading type byte as binary", () => {
    expect(encodePacketV3({ type: "message", data: Buffer.from([1, 2, 3]) })).toBe("b4AQID");
    expect(encodeBinaryPacketV3({ type: "message", data: Buffer.from([1, 2, 3]) })).toEqual(Buffer.from([4, 1, 2, 3]));
    expect(decodePacketV3("b4AQID")).toEqual({ type: "message", data: Buffer.from([1, 2, 3]) });
    expect(decodePacketV3(Buffer.from([4, 1, 2, 3]))).toEqual({ type: "message", data: Buffer.from([1, 2, 3]) });
    expect(decodePacketV3("2probe")).toEqual({ type: "ping", data: "probe" });
    for (const bad of ["", "9", "bx", "b9AQID", "b4!"]) expect(decodePacketV3(bad).type).toBe("error");
    expect(decodePacketV3(Buffer.alloc(0)).type).toBe("error");
    expect(decodePacketV3(Buffer.from([7, 1])).type).toBe("error");
  });

  it("random input never throws; encode → decode round-trips", () => {
    fc.assert(fc.property(hostileString, (s) => void decodePacketV3(s)), RUNS);
    fc.assert(fc.property(fc.uint8Array(), (a) => void decodePacketV3(Buffer.from(a))), RUNS);
    fc.assert(
      fc.property(packetArb, (packet) => {
        const back = decodePacketV3(encodePacketV3(packet));
        if (packet.data === undefined || packet.data === "") expect(back.type).toBe(packet.type);
        else expect(back).toEqual(packet);
        if (Buffer.isBuffer(packet.data)) {
          expect(decodePacketV3(encodeBinaryPacketV3(packet as Packet & { data: Buffer }))).toEqual(packet);
        }
      }),
      RUNS,
    );
  });
});

/** Parses one unmasked server frame: [fin+opcode, payload]. */
function parseFrame(frame: Buffer): { first: number; payload: Buffer } {
  let length = frame[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    offset = 10;
  }
  expect(frame[1] & 0x80).toBe(0); // never masked
  expect(frame.length).toBe(offset + length);
  return { first: frame[0], payload: frame.subarray(offset) };
}

describe("server WebSocket frames", () => {
  it("uses the 7, 16 and 64-bit length forms at their boundaries", () => {
    expect([0, 125, 126, 65535, 65536, 1 << 20].map(frameHeaderSize)).toEqual([2, 2, 4, 4, 10, 10]);
    for (const n of [0, 124, 125, 126, 65534, 65535, 65536, 70000]) {
      const text = parseFrame(textFrame("4", "a".repeat(n)));
      expect(text.first).toBe(0x81);
      expect(text.payload.toString()).toBe("4" + "a".repeat(n));
      const bin = parseFrame(binaryFrame(Buffer.alloc(n, 5)));
      expect(bin.first).toBe(0x82);
      expect(bin.payload.equals(Buffer.alloc(n, 5))).toBe(true);
      const header = binaryFrameHeader(n);
      expect(header.length).toBe(frameHeaderSize(n));
    }
    expect(parseFrame(binaryFrame(Buffer.from([1, 2]), 4)).payload).toEqual(Buffer.from([4, 1, 2]));
  });

  it("text frames carry UTF-8 byte lengths", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => {
        const { payload } = parseFrame(textFrame("4", s));
        expect(payload.toString("utf8")).toBe("4" + s);
      }),
      RUNS,
    );
  });
});
