/**
 * Hostile input ends at most the offending session, with the reference
 * reason or status; the server keeps serving others. (An uncaught exception
 * anywhere fails the run: vitest reports unhandled errors.)
 */
import * as net from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  eioPath,
  onCleanup,
  pollingHandshake,
  pollPost,
  rawWebSocket,
  request,
  startEngine,
  waitFor,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

const bodyArb = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc
    .array(fc.constantFrom(..."4b2310x=A€65\x1e"), { maxLength: 30 })
    .map((a) => a.join("")),
);

describe("engine under hostile input", () => {
  it("random POST bodies: 200 ok, and the session is either fine or closed with a reference reason", async () => {
    const h = await startEngine();
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const connection = waitFor<[EngineSocket]>(h.engine, "connection");
        const { sid } = await pollingHandshake(h);
        const [conn] = await connection;
        let reason: string | null = null;
        conn.on("close", (r: string) => (reason = r));
        const res = await pollPost(h, sid, body);
        expect(res.status).toBe(200);
        expect(res.text).toBe("ok");
        if (reason !== null) expect(["parse error", "transport error", "transport close"]).toContain(reason);
        conn.close(true);
      }),
      { numRuns: 40 },
    );
    expect((await pollingHandshake(h)).sid).toBeTruthy();
  });

  it("random WebSocket frames: the session survives or closes with a reference reason", async () => {
    const h = await startEngine();
    await fc.assert(
      fc.asyncProperty(fc.oneof(bodyArb, fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a))), async (frame) => {
        const connection = waitFor<[EngineSocket]>(h.engine, "connection");
        const ws = await rawWebSocket(h);
        const [conn] = await connection;
        await ws.next();
        const closed = new Promise<string>((resolve) => conn.on("close", (r: string) => resolve(r)));
        ws.send(frame);
        ws.send("4marker");
        const outcome = await Promise.race([closed, waitFor(conn, "message", 2000).then(() => "alive")]);
        expect(["alive", "parse error", "transport error"]).toContain(outcome);
        conn.close(true);
      }),
      { numRuns: 40 },
    );
  });

  it("odd URLs and query strings get an error response, not a crash", async () => {
    const h = await startEngine();
    const paths = [
      `${h.path}?EIO=4&transport=polling&sid=%E0%A4%A`,
      `${h.path}?EIO=4&transport=%ZZ`,
      `${h.path}?${"a=1&".repeat(2000)}EIO=4&transport=polling`,
      `${h.path}?EIO=4&transport=polling&transport=websocket`,
      `${h.path}?EIO=4&transport=polling&sid=`,
      `${h.path}?&&&=&=`,
      `${h.path}/../../etc/passwd`,
    ];
    for (const path of paths) {
      const res = await request(h, { path });
      expect([200, 400]).toContain(res.status);
    }
  });

  it("garbage bytes after the WebSocket handshake end only that session", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const socket = net.connect(h.port, "127.0.0.1");
    onCleanup(() => {
      socket.destroy();
    });
    socket.on("error", () => {});
    socket.write(
      `GET ${eioPath(h, { transport: "websocket" })} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    const [conn] = await connection;
    const closed = waitFor(conn, "close");
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02]));
    expect((await closed)[0]).toMatch(/^transport (error|close)$/);
    expect((await pollingHandshake(h)).sid).toBeTruthy();
  });

  it("a client resetting the connection during an async handshake hook leaves nothing behind", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = await startEngine({
      allowRequest: (_req, cb) => {
        gate.then(() => cb(null, true));
      },
    });
    const seen = waitFor(h.httpServer, "upgrade");
    const socket = net.connect(h.port, "127.0.0.1");
    socket.on("error", () => {});
    socket.write(
      `GET ${eioPath(h, { transport: "websocket" })} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    await seen;
    socket.resetAndDestroy();
    await new Promise((resolve) => socket.once("close", resolve));
    // The server does not read an upgraded socket before accepting it, so it
    // only learns of the reset when it writes the 101: the session that was
    // opened meanwhile must end right away.
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    release();
    const [conn] = await connection;
    const [reason] = conn.readyState === "closed" ? ["transport close"] : await waitFor(conn, "close");
    expect(reason).toMatch(/^transport (error|close)$/);
    expect(h.engine.clientsCount).toBe(0);
    const polling = await request(h, { path: eioPath(h) });
    expect(polling.status).toBe(200);
  });
});
