/** Pure pieces of tidewire/redis-streams: options, the reference's stream routing, stream ids, the entry codec against the reference's MessagePack library. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createRequire } from "node:module";
import { resolveStreamsOptions, streamOf, hashCode } from "../../src/redis-streams/options.js";
import { compareIds, nextId, STREAM_ID } from "../../src/redis-streams/commands.js";
import { entryCodec, isEphemeral, pubsubCodec } from "../../src/redis-streams/codec.js";
import { createAdapter } from "../../src/redis-streams/index.js";

const require = createRequire(import.meta.url);
const msgpack = require("@msgpack/msgpack");

describe("options", () => {
  it("has the reference's defaults", () => {
    expect(resolveStreamsOptions()).toMatchObject({
      streamName: "socket.io",
      streamCount: 1,
      channelPrefix: "socket.io",
      useShardedPubSub: false,
      maxLen: 10000,
      readCount: 100,
      blockTimeInMs: 5000,
      sessionKeyPrefix: "sio:session:",
      onlyPlaintext: false,
      recovery: { snapshotInterval: 5000, pageSize: 1000, expiryGrace: 10000, sweepInterval: 1000 },
    });
  });

  it("refuses bad options and non-clients with clear errors", () => {
    expect(() => resolveStreamsOptions({ maxLen: 0 })).toThrow(/Invalid option "maxLen": expected a positive integer/);
    expect(() => resolveStreamsOptions({ streamCount: 1.5 })).toThrow(/"streamCount"/);
    expect(() => resolveStreamsOptions({ recovery: { pageSize: -1 } })).toThrow(/"recovery.pageSize"/);
    expect(() => createAdapter({} as any)).toThrow(/needs a Redis client from the "redis" package/);
  });

  it("routes namespaces to streams with the reference's formula (sign included)", () => {
    expect(streamOf("/", { streamName: "s", streamCount: 1 })).toBe("s");
    expect(hashCode("/")).toBe(47);
    expect(streamOf("/", { streamName: "s", streamCount: 3 })).toBe("s-2");
    const negative = "/players";
    expect(hashCode(negative)).toBeLessThan(0);
    expect(streamOf(negative, { streamName: "s", streamCount: 4 })).toBe(`s-${hashCode(negative) % 4}`);
  });
});

describe("stream ids", () => {
  const id = fc.tuple(fc.nat({ max: 2 ** 48 }), fc.nat({ max: 2 ** 32 }));
  it("compare as (ms, seq) like a BigInt reference, and nextId is the successor", () => {
    fc.assert(
      fc.property(id, id, ([m1, s1], [m2, s2]) => {
        const a = `${m1}-${s1}`;
        const b = `${m2}-${s2}`;
        const ref = (BigInt(m1) << 64n) + BigInt(s1) - ((BigInt(m2) << 64n) + BigInt(s2));
        expect(Math.sign(compareIds(a, b))).toBe(ref === 0n ? 0 : ref < 0n ? -1 : 1);
        expect(compareIds(nextId(a), a)).toBe(1);
        expect(STREAM_ID.test(a)).toBe(true);
      }),
    );
    expect(STREAM_ID.test("1-2-3")).toBe(false);
    expect(STREAM_ID.test("$")).toBe(false);
  });
});

describe("codec", () => {
  const message = (data: unknown) => ({ uid: "u1", nsp: "/", type: 3, data });

  it("writes entries as the reference does: JSON, or base64 MessagePack @msgpack/msgpack reads", () => {
    const codec = entryCodec(false);
    const json = codec.encode(message({ packet: { type: 2, data: ["a", 1] }, opts: { rooms: [], except: [] } }));
    expect(json).toEqual({ uid: "u1", nsp: "/", type: "3", data: '{"packet":{"type":2,"data":["a",1]},"opts":{"rooms":[],"except":[]}}' });
    const bin = codec.encode(message({ packet: { type: 2, data: ["b", Buffer.from([7, 8])] }, opts: { rooms: ["r"], except: [] } }));
    const decoded = msgpack.decode(Buffer.from(bin.data, "base64"));
    expect([...decoded.packet.data[1]]).toEqual([7, 8]);
    expect(entryCodec(true).encode(message({ packet: { data: [Buffer.from([1])] } })).data).toBe('{"packet":{"data":[{"type":"Buffer","data":[1]}]}}');
    expect(codec.encode({ uid: "u", nsp: "/", type: 2 })).toEqual({ uid: "u", nsp: "/", type: "2" });
  });

  it("reads what the reference writes, stream entries and pub/sub messages", () => {
    const data = { packet: { type: 2, data: ["c", new Uint8Array([9]), new Date(5)] }, opts: { rooms: [], except: [] } };
    const fields = { uid: "x", nsp: "/", type: "3", data: Buffer.from(msgpack.encode(data)).toString("base64") };
    const m = entryCodec(false).decode(fields);
    expect(m.type).toBe(3);
    expect([...m.data.packet.data[1]]).toEqual([9]);
    expect(m.data.packet.data[2]).toEqual(new Date(5));
    const ps = pubsubCodec.decode(Buffer.from(msgpack.encode({ uid: "x", nsp: "/", type: 7, data: { requestId: "r", opts: { rooms: [] } } })));
    expect(ps).toMatchObject({ type: 7, data: { requestId: "r" } });
    expect(msgpack.decode(pubsubCodec.encode({ uid: "y", nsp: "/", type: 10, data: { requestId: "r", packet: 1 } }))).toEqual({ uid: "y", nsp: "/", type: 10, data: { requestId: "r", packet: 1 } });
  });

  it("refuses malformed entries with an error, never a crash", () => {
    const codec = entryCodec(false);
    for (const bad of [{}, { uid: "u", nsp: "/" }, { uid: "u", nsp: "/", type: "x" }, { uid: "u", nsp: "/", type: "3", data: "{bad" }, { uid: "u", nsp: "/", type: "3", data: "@@@" }]) {
      expect(() => codec.decode(bad as any)).toThrow();
    }
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.string()), (fields) => {
      try {
        codec.decode(fields);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
    }));
  });

  it("sends what needs no log over pub/sub, as the reference decides", () => {
    expect(isEphemeral({ uid: "", nsp: "/", type: 3, data: { requestId: "r" } })).toBe(true);
    expect(isEphemeral({ uid: "", nsp: "/", type: 3, data: {} })).toBe(false);
    expect(isEphemeral({ uid: "", nsp: "/", type: 9, data: {} })).toBe(true);
    expect(isEphemeral({ uid: "", nsp: "/", type: 7, data: {} })).toBe(true);
    expect(isEphemeral({ uid: "", nsp: "/", type: 4, data: {} })).toBe(false);
  });
});
