/**
 * Class 2: invalid WebSocket frames right after the handshake
 * (CVE-2022-21676), on a direct WebSocket session and on the new socket of
 * an upgrade. The reference outcome: ws closes that connection with the
 * RFC 6455 status for the violation (1002 protocol error, 1007 invalid
 * UTF-8, 1009 too big); the session ends with "transport error" (or, for an
 * upgrade, the upgrade is dropped and the session goes on polling). Nothing
 * else is disturbed.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  clientFrame,
  closeAll,
  echoServer,
  expectHeapNear,
  fetchText,
  LeakTracker,
  OP,
  pollingHandshake,
  RawWebSocket,
  settledHeap,
  SIO_POLLING_PATH,
  withTimeout,
} from "./helpers.js";

afterEach(closeAll);

const CASES: Array<[string, Buffer, number]> = [
  ["an unmasked frame", clientFrame(OP.TEXT, "4hello", { mask: false }), 1002],
  ["RSV1 set without an extension", clientFrame(OP.TEXT, "4hello", { rsv: 4 }), 1002],
  ["RSV2 and RSV3 set", clientFrame(OP.BINARY, Buffer.from([1]), { rsv: 3 }), 1002],
  ["reserved data opcode 3", clientFrame(3, "x"), 1002],
  ["reserved control opcode 0xB", clientFrame(0xb, "x"), 1002],
  ["a continuation with nothing to continue", clientFrame(OP.CONTINUATION, "x"), 1002],
  ["a fragmented ping", clientFrame(OP.PING, "x", { fin: false }), 1002],
  ["a ping longer than 125 bytes", clientFrame(OP.PING, Buffer.alloc(126)), 1002],
  ["invalid UTF-8 in a text frame", clientFrame(OP.TEXT, Buffer.from([0x34, 0xc3, 0x28])), 1007],
  ["a close frame with a 1-byte payload", clientFrame(OP.CLOSE, Buffer.from([3])), 1002],
  ["a close frame with the reserved code 1005", clientFrame(OP.CLOSE, Buffer.from([0x03, 0xed])), 1002],
  ["a close frame with code 999", clientFrame(OP.CLOSE, Buffer.from([0x03, 0xe7])), 1002],
  ["a close frame with invalid UTF-8 in its reason", clientFrame(OP.CLOSE, Buffer.from([0x03, 0xe8, 0xff])), 1007],
  [
    "a new message inside a fragmented one",
    Buffer.concat([clientFrame(OP.TEXT, "4a", { fin: false }), clientFrame(OP.TEXT, "4b")]),
    1002,
  ],
  ["a length of 2^63 - 1", clientFrame(OP.BINARY, Buffer.alloc(0), { declaredLength: 2n ** 63n - 1n }), 1009],
  ["a length with the most significant bit set", clientFrame(OP.BINARY, Buffer.alloc(0), { declaredLength: 2n ** 63n }), 1009],
];

describe("hostile: invalid WebSocket frames", () => {
  it.each(CASES)("%s right after the handshake: close %i, 'transport error'", async (_label, frame, code) => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const reasons: string[] = [];
    handle.io.engine.on("connection", (conn: any) => conn.on("close", (r: string) => reasons.push(r)));
    await canary.during(async () => {
      // Before even reading the open packet.
      const raw = await RawWebSocket.open(handle.port);
      raw.send(frame);
      await withTimeout(raw.closed, 5000, "the server closing the connection");
      expect(raw.closeCode).toBe(code);
      // And after joining a namespace.
      const joined = await RawWebSocket.socketIo(handle.port);
      joined.send(frame);
      await withTimeout(joined.closed, 5000, "the server closing the joined connection");
      expect(joined.closeCode).toBe(code);
    });
    expect(reasons).toEqual(["transport error", "transport error"]);
    expect(handle.io.engine.clientsCount).toBe(1);
    expect(handle.io.of("/").sockets.size).toBe(1);
  });

  it("an invalid frame on the new socket of an upgrade drops the upgrade; the session goes on polling", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      for (const [, frame, code] of CASES) {
        const sid = await pollingHandshake(handle.port);
        const path = `${SIO_POLLING_PATH}&sid=${sid}`;
        const upgrade = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
        upgrade.send(frame);
        await withTimeout(upgrade.closed, 5000, "the server closing the upgrade");
        expect(upgrade.closeCode).toBe(code);
        expect((await fetchText(handle.port, path, { method: "POST", body: '40\x1e421["echo","on polling"]' })).body).toBe("ok");
        expect((await fetchText(handle.port, path)).body).toMatch(/^40\{"sid":"[^"]+"\}\x1e431\["on polling"\]$/);
        expect((await fetchText(handle.port, path, { method: "POST", body: "1" })).body).toBe("ok");
      }
    });
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const attack = async () => {
      for (const [, frame] of CASES) {
        const raw = await RawWebSocket.socketIo(handle.port);
        raw.send(frame);
        await withTimeout(raw.closed, 5000, "the server closing the connection");
      }
    };
    await attack();
    const baseline = await settledHeap();
    const tracker = new LeakTracker(handle);
    await canary.during(async () => {
      for (let i = 0; i < 3; i++) await attack();
    });
    expect(tracker.tracked).toBe(CASES.length * 3 * 3);
    await tracker.expectCollected();
    await expectHeapNear(baseline);
  });
});
