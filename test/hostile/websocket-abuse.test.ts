/**
 * Class 7: WebSocket upgrades with very many headers (ws CVE-2024-37890),
 * abusive Sec-WebSocket-Extensions, compressed messages that inflate past
 * the limit, ping floods from a client that does not read, and floods of
 * fragments. Reference outcome: 400 (or 431) for the bad upgrades and no
 * session; ws's own limits (ws >= 8.23) close the others: 1009 for a
 * message inflating past maxHttpBufferSize, termination once 60 pongs are
 * waiting to be written (a burst of over 60 pings does that at once),
 * 1008 past 16,384 fragments of one message.
 */
import { deflateRawSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  clientFrame,
  closeAll,
  echoServer,
  expectNoLeak,
  OP,
  rawHttp,
  RawWebSocket,
  SIO_WS_PATH,
  turn,
  upgradeHead,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

const manyHeaders = (n: number, prefix = "x") => Array.from({ length: n }, (_, i) => `${prefix}${i}: 1\r\n`).join("");

/** Resolves with the close reason of the next engine session. */
function nextSessionClose(handle: IoServerHandle): Promise<string> {
  return new Promise((resolve) =>
    handle.io.engine.once("connection", (conn: any) => conn.once("close", (reason: string) => resolve(reason))),
  );
}

describe("hostile: WebSocket upgrade and frame abuse", () => {
  it("an upgrade with very many headers gets 400 (or 431 when too large), and no session", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const sessions = handle.io.engine.clientsCount;
    await canary.during(async () => {
      // Node keeps the first 2000 headers: the key (or Upgrade itself) is lost.
      const keyLost = await rawHttp(
        handle.port,
        `GET ${SIO_WS_PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${manyHeaders(2500)}` +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      expect(keyLost.text).toMatch(/^HTTP\/1\.1 400 [\s\S]*Missing or invalid Sec-WebSocket-Key header$/);
      const upgradeLost = await rawHttp(handle.port, `GET ${SIO_WS_PATH} HTTP/1.1\r\nHost: x\r\n${manyHeaders(2500)}${upgradeHead(SIO_WS_PATH).split("\r\n").slice(2).join("\r\n")}\r\n`);
      expect(upgradeLost.status).toBe(400);
      const tooLarge = await rawHttp(handle.port, upgradeHead(SIO_WS_PATH, manyHeaders(5000, "long-header-name-")) + "\r\n");
      expect(tooLarge.status).toBe(431);
      const duplicated = await rawHttp(handle.port, upgradeHead(SIO_WS_PATH, "Sec-WebSocket-Key: again\r\n".repeat(500)) + "\r\n");
      expect(duplicated.status).toBe(400);
    });
    expect(handle.io.engine.clientsCount).toBe(sessions);
  });

  it("abusive Sec-WebSocket-Extensions: 400 with permessage-deflate on, ignored with it off", async () => {
    const offers = [
      "permessage-deflate; server_max_window_bits=0",
      "permessage-deflate; client_max_window_bits=abc",
      "permessage-deflate; " + "x=1; ".repeat(2000),
      "permessage-deflate, ".repeat(500),
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      'permessage-deflate; x="\\',
      ";;;,,,===",
    ];
    const on = await echoServer({ perMessageDeflate: true });
    const off = await echoServer();
    const canary = await Canary.connect(on);
    await canary.during(async () => {
      for (const offer of offers) {
        const refused = await rawHttp(on.port, upgradeHead(SIO_WS_PATH, `Sec-WebSocket-Extensions: ${offer}\r\n`) + "\r\n");
        expect(refused.text).toMatch(/^HTTP\/1\.1 400 [\s\S]*Invalid or unacceptable Sec-WebSocket-Extensions header$/);
        const ignored = await RawWebSocket.open(off.port, SIO_WS_PATH, `Sec-WebSocket-Extensions: ${offer}\r\n`);
        expect(ignored.response).not.toMatch(/sec-websocket-extensions/i);
        expect(await ignored.next()).toMatch(/^0\{/);
        ignored.reset();
      }
    });
  });

  it("a compressed message that inflates past maxHttpBufferSize closes with 1009", async () => {
    const handle = await echoServer({ perMessageDeflate: true, maxHttpBufferSize: 1e6 });
    const canary = await Canary.connect(handle);
    const reason = nextSessionClose(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.open(handle.port, SIO_WS_PATH, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
      expect(ws.response).toMatch(/sec-websocket-extensions: permessage-deflate/i);
      await ws.next();
      // 64 MB of text in ~64 KB: the limit stops the inflation early.
      const bomb = deflateRawSync(Buffer.concat([Buffer.from('42["bomb","'), Buffer.alloc(64e6, 0x61)]));
      ws.send(clientFrame(OP.TEXT, bomb, { rsv: 4 }));
      await withTimeout(ws.closed, 5000, "the server closing the connection");
      expect(ws.closeCode).toBe(1009);
    });
    expect(await reason).toBe("transport error");
  });

  it("a ping flood from a client that does not read ends with that connection, memory bounded", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const reason = nextSessionClose(handle);
    const ws = await RawWebSocket.socketIo(handle.port);
    ws.pause();
    // 20 pings per write: few enough that each burst is answered, so the pongs
    // pile up in the kernel until the flooder's receive buffer is full.
    const ping = clientFrame(OP.PING, Buffer.alloc(125, 0x70));
    const burst = Buffer.concat(Array.from({ length: 20 }, () => ping));
    const gc = (globalThis as { gc?: () => void }).gc!;
    let closed = false;
    void reason.then(() => (closed = true));
    gc();
    const start = process.memoryUsage();
    let peak = 0;
    let bursts = 0;
    await canary.during(async () => {
      // Up to 400,000 pings (52 MB) until the server gives up on the connection.
      for (; bursts < 20_000 && !closed && !ws.socket.destroyed; bursts++) {
        if (!ws.socket.write(burst)) await Promise.race([new Promise((resolve) => ws.socket.once("drain", resolve)), ws.closed]);
        await turn();
        await turn();
        if (bursts % 500 === 499) {
          gc();
          const m = process.memoryUsage();
          peak = Math.max(peak, m.heapUsed + m.arrayBuffers - start.heapUsed - start.arrayBuffers);
          await canary.echo();
        }
      }
    });
    expect(await withTimeout(reason, 5000, "the flooding connection being dropped")).toMatch(/^transport (close|error)$/);
    expect(bursts).toBeLessThan(20_000);
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });

  it("a flood of fragments: 1008 past 16,384 fragments of one message, empty fragments included", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      for (const piece of ["x", ""]) {
        const ws = await RawWebSocket.socketIo(handle.port);
        ws.send(clientFrame(OP.TEXT, '42["frag","', { fin: false }));
        const fragment = clientFrame(OP.CONTINUATION, piece, { fin: false });
        for (let i = 0; i < 17; i++) ws.send(Buffer.concat(Array.from({ length: 1000 }, () => fragment)));
        await withTimeout(ws.closed, 5000, "the server closing the connection");
        expect(ws.closeCode).toBe(1008);
      }
      // Control frames between fragments are fine, and a fragmented message within the limits arrives.
      const ok = await RawWebSocket.socketIo(handle.port);
      ok.send(clientFrame(OP.TEXT, '421["echo","', { fin: false }));
      // (At most 60 pings in a burst: ws terminates a client with more unanswered pongs than that.)
      for (let i = 0; i < 50; i++) {
        ok.send(clientFrame(OP.CONTINUATION, "ab", { fin: false }));
        ok.send(clientFrame(OP.PING, "p"));
      }
      ok.send(clientFrame(OP.CONTINUATION, '"]'));
      expect(await ok.nextMessage()).toBe(`431["${"ab".repeat(50)}"]`);
    });
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer({ perMessageDeflate: true });
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        const lost = await rawHttp(
          handle.port,
          `GET ${SIO_WS_PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${manyHeaders(2500)}` +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        );
        expect(lost.status).toBe(400);
        await rawHttp(handle.port, upgradeHead(SIO_WS_PATH, "Sec-WebSocket-Extensions: permessage-deflate; x\r\n") + "\r\n");
        const frag = await RawWebSocket.socketIo(handle.port);
        frag.send(clientFrame(OP.TEXT, "4", { fin: false }));
        frag.send(Buffer.concat(Array.from({ length: 17000 }, () => clientFrame(OP.CONTINUATION, "", { fin: false }))));
        await withTimeout(frag.closed, 5000, "the fragment flood being closed");
        const bomb = await RawWebSocket.open(handle.port, SIO_WS_PATH, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        bomb.send(clientFrame(OP.TEXT, deflateRawSync(Buffer.alloc(4e6, 0x61)), { rsv: 4 }));
        await withTimeout(bomb.closed, 5000, "the bomb being closed");
      },
      { minTracked: 6 },
    );
  });
});
