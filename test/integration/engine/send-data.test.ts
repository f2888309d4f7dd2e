/**
 * What `socket.send()` / `write()` of an Engine.IO session accept, as
 * engine.io 6.6 does: strings, Buffers, ArrayBuffers, every typed array and
 * DataView (sent as their bytes), and any other value as its string form,
 * `null`, `undefined`, `0` and `false` being an empty message. The official
 * engine.io-client receives the same thing from both servers
 * (`TEST_AGAINST=engine.io` runs this file against engine.io), over
 * WebSocket and polling, with binary support and without (`b64`).
 *
 * Nothing thrown while a queue is encoded or written escapes as an uncaught
 * exception: the session that could not be written to closes with
 * "transport error" and the cause (tidewire only; engine.io throws it from
 * its flush).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  collect,
  connectClient,
  tidewireOnly,
  startEngine,
  waitFor,
  type EngineSocket,
} from "../../helpers/engine.js";
import { captureUncaught, releaseUncaught } from "../../helpers/uncaught.js";

afterEach(async () => {
  await closeAll();
  releaseUncaught();
});

/** A view over bytes 2..6 of a larger buffer: only those four bytes may be sent. */
function offsetView(): Uint8Array {
  return new Uint8Array(Uint8Array.of(9, 9, 1, 2, 3, 4, 9, 9).buffer, 2, 4);
}

/**
 * What is sent, and what the official client hands to "message": binary as a
 * Buffer (as it decodes it in Node), an empty message as undefined.
 */
const CASES: Array<[string, () => unknown, string | Buffer | undefined]> = [
  ["a number", () => 42, "42"],
  ["a negative float", () => -1.5, "-1.5"],
  ["true", () => true, "true"],
  ["a bigint", () => 10n, "10"],
  ["null", () => null, undefined],
  ["undefined", () => undefined, undefined],
  ["0", () => 0, undefined],
  ["false", () => false, undefined],
  ["an empty string", () => "", undefined],
  ["an Int8Array", () => Int8Array.of(-1, 2), Buffer.from([0xff, 0x02])],
  ["an Int32Array", () => Int32Array.of(1, -2), Buffer.from(new Int32Array([1, -2]).buffer)],
  ["a Float64Array", () => Float64Array.of(0.5), Buffer.from(new Float64Array([0.5]).buffer)],
  ["an ArrayBuffer", () => Uint8Array.of(7, 8, 9).buffer, Buffer.from([7, 8, 9])],
  ["a Uint8Array over part of a buffer", offsetView, Buffer.from([1, 2, 3, 4])],
  ["a DataView", () => new DataView(Uint8Array.of(5, 6, 7, 8).buffer, 1, 2), Buffer.from([6, 7])],
  ["a string", () => "text", "text"],
  ["a Buffer", () => Buffer.from([1, 2]), Buffer.from([1, 2])],
];

describe.each([
  ["websocket", false],
  ["polling", false],
  ["websocket", true],
  ["polling", true],
] as const)("socket.send() over %s (base64: %s)", (mode, forceBase64) => {
  it("sends what engine.io sends for every type it accepts, and nothing escapes", async () => {
    const uncaught = captureUncaught();
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode, { forceBase64 });
    const got = collect<string | Buffer>(client as any, "message", CASES.length * 2, 10000);
    for (const [, make] of CASES) conn.send(make() as any);
    // The same again with write(), in one flush with a callback on the last one.
    const written = new Promise<void>((resolve) => {
      CASES.forEach(([, make], i) => conn.write(make() as any, i === CASES.length - 1 ? () => resolve() : undefined));
    });
    const messages = await got;
    await written;
    for (let i = 0; i < messages.length; i++) {
      const [name, , expected] = CASES[i % CASES.length];
      const message = messages[i];
      if (!Buffer.isBuffer(expected)) expect(message, name).toBe(expected);
      else expect(Buffer.isBuffer(message) && Buffer.compare(message, expected) === 0, name).toBe(true);
    }
    expect(conn.readyState).toBe("open");
    expect(uncaught.seen).toEqual([]);
  });
});

describe("socket.send() with what cannot be sent", () => {
  // engine.io accepts it and throws later, from its flush.
  it.skipIf(tidewireOnly)("a Symbol throws a TypeError at the call", async () => {
    const h = await startEngine();
    const { conn } = await connectClient(h, "websocket");
    expect(() => conn.send(Symbol("s") as any)).toThrow(TypeError);
    expect(conn.readyState).toBe("open");
  });

  // engine.io passes the value given to send().
  it.skipIf(tidewireOnly)("'packetCreate' listeners see the data as it will be sent", async () => {
    const h = await startEngine();
    const { conn } = await connectClient(h, "websocket");
    const seen: unknown[] = [];
    conn.on("packetCreate", (packet: { data?: unknown }) => seen.push(packet.data));
    conn.send(42);
    conn.send(null);
    conn.send(Int8Array.of(-1));
    expect(seen).toEqual(["42", undefined, Buffer.from([0xff])]);
  });

  it.skipIf(tidewireOnly)(
    "a message polling cannot encode (base64 longer than a string can be) closes that session with 'transport error'",
    { timeout: 60_000 },
    async () => {
      const uncaught = captureUncaught();
      const h = await startEngine();
      const { client, conn } = await connectClient(h, "polling");
      const other = await connectClient(h, "websocket");
      const closed = waitFor<[string, Error]>(conn, "close", 30_000);
      const clientClosed = waitFor<[string]>(client as any, "close", 30_000);
      // 403e6 bytes make 537,333,336 base64 characters: V8 strings stop at 536,870,888.
      // allocUnsafe: the pages are never touched, so this costs no memory.
      conn.send("before");
      conn.send(Buffer.allocUnsafe(403e6));
      const [reason, description] = await closed;
      expect(reason).toBe("transport error");
      expect(description.message).toMatch(
        /^could not send 2 packet\(s\) to the client: Cannot create a string longer than 0x1fffffe8 characters$/,
      );
      // The pending GET still carries the close packet.
      expect((await clientClosed)[0]).toBe("transport close");
      const echo = waitFor<[string]>(other.client as any, "message");
      other.conn.send("still here");
      expect((await echo)[0]).toBe("still here");
      expect((other.conn as EngineSocket).readyState).toBe("open");
      expect(uncaught.seen).toEqual([]);
    },
  );
});
