/**
 * Class 5: binary attachments. Placeholders out of range or not integers,
 * `_placeholder` objects smuggled into plain JSON (CVE-2022-2421), huge
 * attachment counts (CVE-2026-33151), binary frames without a header, more
 * (or fewer) binary frames than announced. Reference outcome: every
 * violation closes the connection (socket "error", then "forced close");
 * a placeholder in a plain EVENT is plain data; at most `maxAttachments`
 * (10) attachments may be announced, so a half-received packet holds at
 * most 10 messages of at most maxHttpBufferSize each.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  fetchText,
  pollingHandshake,
  RawWebSocket,
  SIO_POLLING_PATH,
  withTimeout,
} from "./helpers.js";

afterEach(closeAll);

type Message = string | Buffer;
const ph = (num: unknown, extra = "") => `{"_placeholder":true,"num":${JSON.stringify(num) ?? num}${extra}}`;
const B = Buffer.from([1, 2, 3]);

const VIOLATIONS: Array<[string, Message[]]> = [
  ["a placeholder num equal to the count", [`451-["x",${ph(1)}]`, B]],
  ["a negative placeholder num", [`451-["x",${ph(-1)}]`, B]],
  ["a fractional placeholder num", [`451-["x",${ph(0.5)}]`, B]],
  ["a string placeholder num", [`451-["x",${ph("0")}]`, B]],
  ["an infinite placeholder num", [`451-["x",{"_placeholder":true,"num":1e400}]`, B]],
  ["a null placeholder num", [`451-["x",${ph(null)}]`, B]],
  ["a placeholder without num", ['451-["x",{"_placeholder":true}]', B]],
  ["a placeholder with extra keys", [`451-["x",${ph(0, ',"extra":1')}]`, B]],
  ["an attachment count over 10", [`4511-["x",${ph(0)}]`, B]],
  ["a huge attachment count", [`459999999999999999999-["x",${ph(0)}]`, B]],
  ["an attachment count of 0", ['450-["x"]']],
  ["an attachment count without digits", ['45-["x"]']],
  ["an attachment count without its dash", [`451["x",${ph(0)}]`, B]],
  ["a binary ack with a bad placeholder", [`461-1[${ph(3)}]`, B]],
  ["a binary frame without a header", [B]],
  ["more binary frames than announced", [`451-["x",${ph(0)}]`, B, B]],
  ["a text packet before the attachments", [`452-["x",${ph(0)},${ph(1)}]`, B, '42["y"]']],
];

describe("hostile: binary attachments", () => {
  it.each(VIOLATIONS)("%s closes the connection with an error, nothing else", async (_label, messages) => {
    const handle = await echoServer();
    const log: string[] = [];
    handle.io.of("/victim").on("connection", (socket) => {
      socket.on("error", () => log.push("error"));
      socket.on("disconnect", (reason: string) => log.push(`disconnect: ${reason}`));
      socket.on("x", (...args: unknown[]) => log.push(`x: ${args.map((a) => (Buffer.isBuffer(a) ? "buffer" : typeof a)).join(",")}`));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port, "/victim");
      for (const m of messages) {
        if (typeof m === "string") ws.sendText(m.replace(/^(4\d(?:\d+-)?)/, "$1/victim,"));
        else ws.sendBinary(m);
      }
      await withTimeout(ws.closed, 5000, "the server closing the connection");
    });
    // "More frames than announced": the complete packet was delivered before the extra frame.
    const delivered = messages.length === 3 && Buffer.isBuffer(messages[2]) ? ["x: buffer"] : [];
    expect(log).toEqual([...delivered, "error", "disconnect: forced close"]);
  });

  it("a placeholder in a plain EVENT, or with _placeholder not true, stays plain data", async () => {
    const handle = await echoServer();
    const got: unknown[][] = [];
    handle.io.on("connection", (socket) => socket.on("x", (...args: unknown[]) => got.push(args)));
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port);
      ws.sendText(`42["x",${ph(0)},[${ph(99)}]]`);
      ws.sendText('451-["x",{"_placeholder":"true","num":0},{"_placeholder":1,"num":0}]');
      ws.sendBinary(B);
      ws.sendText('421["echo","after"]');
      expect(await ws.nextMessage()).toBe('431["after"]');
    });
    expect(got).toEqual([
      [{ _placeholder: true, num: 0 }, [{ _placeholder: true, num: 99 }]],
      [{ _placeholder: "true", num: 0 }, { _placeholder: 1, num: 0 }],
    ]);
  });

  it("10 attachments are accepted (one used twice is fine), 11 are refused; over polling too", async () => {
    const handle = await echoServer();
    const got: unknown[][] = [];
    handle.io.on("connection", (socket) => socket.on("ten", (...args: unknown[]) => got.push(args)));
    const canary = await Canary.connect(handle, "polling");
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port);
      const ten = Array.from({ length: 10 }, (_, i) => ph(i)).join(",");
      ws.sendText(`4510-["ten",${ten},${ph(0)}]`);
      for (let i = 0; i < 10; i++) ws.sendBinary(Buffer.from([i]));
      ws.sendText('421["echo","after"]');
      expect(await ws.nextMessage()).toBe('431["after"]');

      // Polling: base64 attachments in the same payload.
      const sid = await pollingHandshake(handle.port);
      const path = `${SIO_POLLING_PATH}&sid=${sid}`;
      const eleven = Array.from({ length: 11 }, (_, i) => ph(i)).join(",");
      const body = ["40", `4511-["ten",${eleven}]`, ...Array.from({ length: 11 }, (_, i) => "b" + Buffer.from([i]).toString("base64"))];
      expect((await fetchText(handle.port, path, { method: "POST", body: body.join("\x1e") })).body).toBe("ok");
      // The session closes: what was queued (the CONNECT reply) goes first, then the close packet.
      expect((await fetchText(handle.port, path)).body).toMatch(/^40\{"sid":"[^"]+"\}$/);
      expect((await fetchText(handle.port, path)).body).toMatch(/(^|\x1e)1$/);
      expect((await fetchText(handle.port, path)).body).toBe('{"code":1,"message":"Session ID unknown"}');
    });
    expect(got).toHaveLength(1);
    expect(got[0]).toEqual([...Array.from({ length: 10 }, (_, i) => Buffer.from([i])), Buffer.from([0])]);
  });

  it("invalid base64 for a binary message on polling closes the session (parse error)", async () => {
    const handle = await echoServer();
    const reasons: string[] = [];
    handle.io.engine.on("connection", (conn: any) => conn.on("close", (r: string) => reasons.push(r)));
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const sid = await pollingHandshake(handle.port);
      const path = `${SIO_POLLING_PATH}&sid=${sid}`;
      expect((await fetchText(handle.port, path, { method: "POST", body: `40\x1e451-["x",${ph(0)}]\x1eb!!!` })).body).toBe("ok");
    });
    expect(reasons).toEqual(["parse error"]);
  });

  it("leaves nothing behind, half-received binary packets included", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        for (const [, messages] of VIOLATIONS) {
          const ws = await RawWebSocket.socketIo(handle.port);
          for (const m of messages) typeof m === "string" ? ws.sendText(m) : ws.sendBinary(m);
          await withTimeout(ws.closed, 5000, "the server closing the connection");
        }
        // Announces 10 attachments of 256 KiB, sends 9, then leaves.
        const half = await RawWebSocket.socketIo(handle.port);
        half.sendText(`4510-["x",${Array.from({ length: 10 }, (_, i) => ph(i)).join(",")}]`);
        for (let i = 0; i < 9; i++) half.sendBinary(Buffer.alloc(256 * 1024, i));
        half.sendText('421["echo","x"]');
        await withTimeout(half.closed, 5000, "the server closing the half-sent packet's connection");
      },
      { minTracked: (VIOLATIONS.length + 1) * 3 },
    );
  });
});
