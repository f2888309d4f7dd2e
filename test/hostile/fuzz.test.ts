/**
 * Property-based fuzzing with a bounded number of cases: both decoders
 * (Engine.IO packets and payloads, v4 and v3; the Socket.IO packet decoder
 * fed sequences of text and binary messages), then raw polling bodies and
 * raw WebSocket frames against a live server whose canary must keep
 * echoing. Decoders never throw anything but their own ParseError (the
 * Engine.IO ones never throw at all); a live server answers every request
 * with a reference status and ends at most the offending session.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/errors.js";
import { decodePacket, PACKET_NAMES } from "../../src/engine/packet.js";
import { decodePayload } from "../../src/engine/payload.js";
import { decodePacketV3, decodePayloadV3Binary, decodePayloadV3Text } from "../../src/engine/payload-v3.js";
import { Decoder } from "../../src/io/protocol/decoder.js";
import { RESERVED_EVENTS } from "../../src/io/protocol/packet.js";
import {
  Canary,
  clientFrame,
  closeAll,
  echoServer,
  fetchText,
  OP,
  pollingHandshake,
  RawWebSocket,
  SIO_POLLING_PATH,
  withTimeout,
} from "./helpers.js";

afterEach(closeAll);

// ---- generators ----------------------------------------------------------------------

const placeholder = fc.record({
  _placeholder: fc.constantFrom<unknown>(true, true, true, "true", 1),
  num: fc.oneof(fc.integer({ min: -1, max: 11 }), fc.constantFrom<unknown>(0.5, "0", null, 1e300)),
});
const jsonish = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 2 }),
    placeholder,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "__proto__", "_placeholder", "num", "constructor"), tie("node"), { maxKeys: 3 }),
  ),
})).node;

/** Text that looks like a Socket.IO packet often enough to reach deep decoder paths. */
const sioText = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "7", "", "a"),
      fc.option(fc.oneof(fc.nat(12).map(String), fc.constantFrom("", "99999999999", "1e3")), { nil: undefined }),
      fc.option(fc.constantFrom("/", "/admin", "/__proto__", "/a?b=c", "/é"), { nil: undefined }),
      fc.option(fc.constantFrom(",", ""), { nil: undefined }),
      fc.option(fc.oneof(fc.nat().map(String), fc.constantFrom("9".repeat(20), " 1", "-1")), { nil: undefined }),
      fc.option(
        fc.oneof(
          fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constantFrom(...RESERVED_EVENTS, null)), fc.array(jsonish, { maxLength: 3 })).map(
            ([name, args]) => JSON.stringify([name, ...args]),
          ),
          jsonish.map((v) => JSON.stringify(v) ?? ""),
          fc.string({ maxLength: 12 }),
        ),
        { nil: undefined },
      ),
    )
    .map(([type, count, nsp, comma, id, json]) => type + (count !== undefined ? count + "-" : "") + (nsp ?? "") + (nsp ? comma ?? "" : "") + (id ?? "") + (json ?? "")),
  fc.string({ maxLength: 30 }),
);
const sioMessage = fc.oneof(
  { weight: 3, arbitrary: sioText },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)) },
);

type Message = string | Buffer;
const eventName = fc.oneof(fc.string({ maxLength: 6 }), fc.integer()).filter((n) => !RESERVED_EVENTS.has(n as string) && n !== "echo");
const args = fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 });
const ackId = fc.option(fc.nat(1_000_000), { nil: undefined });

/** The messages of one well-formed packet a client may send on "/". */
const validPacket: fc.Arbitrary<Message[]> = fc.oneof(
  fc.tuple(ackId, eventName, args).map(([id, name, rest]) => ["2" + (id ?? "") + JSON.stringify([name, ...rest])]),
  fc.tuple(fc.nat(1000), args).map(([id, rest]) => ["3" + id + JSON.stringify(rest)]),
  fc.tuple(fc.integer({ min: 1, max: 3 }), ackId, fc.boolean()).map(([n, id, isAck]) => {
    const placeholders = Array.from({ length: n }, (_, i) => ({ _placeholder: true, num: i }));
    const json = isAck ? JSON.stringify(placeholders) : JSON.stringify(["bin", ...placeholders]);
    return [(isAck ? "6" : "5") + n + "-" + (id ?? (isAck ? "7" : "")) + json, ...placeholders.map((_, i) => Buffer.from([i]))];
  }),
  fc.constantFrom<Message[]>(["0/admin,"], ['0/other,{"token":1}'], ["2/nowhere,[\"x\"]"]),
);

/** One character of a well-formed packet's text replaced (or cut off). */
const mutatedPacket: fc.Arbitrary<Message[]> = fc
  .tuple(validPacket, fc.nat(), fc.constantFrom("", "[", "]", "{", "\"", ",", "-", "/", "9", "x", "\u0000"))
  .map(([messages, at, ch]) => {
    const text = messages[0] as string;
    const i = at % (text.length + 1);
    return [text.slice(0, i) + ch + text.slice(i + 1), ...messages.slice(1)];
  });

/** A sequence of messages: mostly well-formed packets, some mutated ones, some noise. */
const messageSequence = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: validPacket },
      { weight: 2, arbitrary: mutatedPacket },
      { weight: 1, arbitrary: sioMessage.map((m) => [m]) },
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((packets) => packets.flat());

const eioText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(fc.constantFrom(..."0123456b4:=+/A\x1e€\u{1F600}"), { maxLength: 40 }).map((a) => a.join("")),
);

// ---- decoders --------------------------------------------------------------------------

describe("fuzz: decoders", () => {
  it("Engine.IO decoders never throw and only return known packet types (errors last)", () => {
    const known = new Set<string>([...PACKET_NAMES, "error"]);
    fc.assert(
      fc.property(eioText, fc.uint8Array({ maxLength: 64 }), (text, bytes) => {
        const buffer = Buffer.from(bytes);
        for (const packets of [
          [decodePacket(text)],
          [decodePacket(buffer)],
          [decodePacketV3(text)],
          [decodePacketV3(buffer)],
          decodePayload(text),
          decodePayloadV3Text(text),
          decodePayloadV3Binary(buffer),
        ]) {
          for (let i = 0; i < packets.length; i++) {
            expect(known.has(packets[i]!.type)).toBe(true);
            if (packets[i]!.type === "error") expect(i).toBe(packets.length - 1);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("the Socket.IO decoder either decodes valid packets or throws ParseError, for any message sequence", () => {
    let decodedCount = 0;
    fc.assert(
      fc.property(messageSequence, (messages) => {
        const decoder = new Decoder();
        const decoded: any[] = [];
        decoder.on("decoded", (p) => decoded.push(p));
        for (const m of messages) {
          try {
            decoder.add(m);
          } catch (err) {
            expect(err).toBeInstanceOf(ParseError);
            break;
          }
        }
        decoder.destroy();
        decodedCount += decoded.length;
        for (const p of decoded) {
          expect(p.type).toBeGreaterThanOrEqual(0);
          expect(p.type).toBeLessThanOrEqual(4);
          expect(typeof p.nsp).toBe("string");
          if (p.id !== undefined) expect(Number.isSafeInteger(p.id) && p.id >= 0).toBe(true);
          if (p.type === 2 && p.data !== undefined) {
            expect(Array.isArray(p.data)).toBe(true);
            expect(["string", "number"]).toContain(typeof p.data[0]);
            expect(RESERVED_EVENTS.has(p.data[0])).toBe(false);
          }
          if (p.type === 3 && p.data !== undefined) expect(Array.isArray(p.data)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    // The generator reaches the decoding paths, not just the early rejections.
    expect(decodedCount).toBeGreaterThan(1000);
  });
});

// ---- a live server -----------------------------------------------------------------

describe("fuzz: raw input against a live server", () => {
  it("random polling bodies: 200 ok (or 400/413), the session survives or closes with a reference reason", async () => {
    const handle = await echoServer();
    const reasons = new Set<string>();
    handle.io.engine.on("connection", (conn: any) => conn.on("close", (r: string) => reasons.add(r)));
    const canary = await Canary.connect(handle);
    const body = fc
      .tuple(messageSequence, fc.array(eioText, { maxLength: 2 }))
      .map(([messages, noise]) => [...messages.map((m) => (typeof m === "string" ? "4" + m : "b" + m.toString("base64"))), ...noise].join("\x1e"));
    await canary.during(async () => {
      await fc.assert(
        fc.asyncProperty(body, async (payload) => {
          const sid = await pollingHandshake(handle.port);
          const path = `${SIO_POLLING_PATH}&sid=${sid}`;
          const res = await fetchText(handle.port, path, { method: "POST", body: "40\x1e" + payload });
          expect([200, 400, 413]).toContain(res.status);
          if (res.status === 200) expect(res.body).toBe("ok");
          await fetchText(handle.port, path, { method: "POST", body: "1" }).catch(() => undefined);
        }),
        { numRuns: 80 },
      );
    });
    for (const r of reasons) expect(["transport close", "transport error", "parse error", "forced close"]).toContain(r);
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("random WebSocket messages and frames: the connection survives (and echoes) or is closed", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const frame = fc.oneof(
      {
        weight: 8,
        arbitrary: messageSequence.map((ms) =>
          Buffer.concat(ms.map((m) => (typeof m === "string" ? clientFrame(OP.TEXT, "4" + m) : clientFrame(OP.BINARY, m)))),
        ),
      },
      { weight: 2, arbitrary: eioText.map((t) => clientFrame(OP.TEXT, t)) },
      {
        weight: 1,
        arbitrary: fc
          .record({ opcode: fc.integer({ min: 0, max: 15 }), fin: fc.boolean(), rsv: fc.integer({ min: 0, max: 7 }), payload: fc.uint8Array({ maxLength: 20 }) })
          .map(({ opcode, fin, rsv, payload }) => clientFrame(opcode, Buffer.from(payload), { fin, rsv })),
      },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => Buffer.from(a)) },
    );
    let survived = 0;
    await canary.during(async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
          const ws = await RawWebSocket.socketIo(handle.port);
          for (const f of frames) ws.send(f);
          // A final, well-formed echo: answered if the connection survived everything.
          ws.sendText('4299["echo","probe"]');
          const outcome = await Promise.race([
            (async () => {
              for (;;) if ((await ws.nextMessage(4000)) === '4399["probe"]') return "alive";
            })().catch(() => "closed"),
            ws.closed.then(() => "closed"),
          ]);
          if (outcome === "alive") survived++;
          ws.reset();
          await withTimeout(ws.closed, 5000, "the connection closing");
        }),
        { numRuns: 80 },
      );
    });
    expect(survived).toBeGreaterThan(0);
    expect(handle.io.engine.clientsCount).toBe(1);
  });
});
