/**
 * Class 10: an EIO version switch mid-session, EIO3/EIO4 mixes, an upgrade
 * of an already upgraded session, a POST to an upgraded session, concurrent
 * GETs and POSTs, and session ids reused from another connection. Reference
 * outcomes (engine.io 6.6.12): a request that does not match its session
 * (other EIO, other transport) gets 400 code 3 and leaves the session
 * alone; a second upgrade gets a 101 then a close; overlapping GETs or
 * POSTs close the session; a closed session's id is unknown (code 1); a
 * generated id that is in use is refused (code 3).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  fetchText,
  pollingHandshake,
  rawHttp,
  RawWebSocket,
  SIO_POLLING_PATH,
  upgradeHead,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

const BAD_REQUEST = '{"code":3,"message":"Bad request"}';
const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';

/** A polling Socket.IO session on "/"; returns its sid and the path of its requests. */
async function pollingSession(handle: IoServerHandle) {
  const sid = await pollingHandshake(handle.port);
  return { sid, path: `${SIO_POLLING_PATH}&sid=${sid}` };
}

/** Echo over a polling session: POST an ack request, read the answer. */
async function pollEcho(handle: IoServerHandle, path: string, id: number, connect = false): Promise<string> {
  expect((await fetchText(handle.port, path, { method: "POST", body: (connect ? "40\x1e" : "") + `42${id}["echo",${id}]` })).body).toBe("ok");
  return (await fetchText(handle.port, path)).body;
}

describe("hostile: session confusion", () => {
  it("a request switching EIO mid-session gets code 3; the session is untouched", async () => {
    const handle = await echoServer({ allowEIO3: true });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const { sid, path } = await pollingSession(handle);
      expect(await pollEcho(handle, path, 1, true)).toMatch(/^40\{"sid":"[^"]+"\}\x1e431\[1\]$/);
      for (const eio of ["3", "5", "", "4.0"]) {
        const other = `/socket.io/?EIO=${eio}&transport=polling&sid=${sid}`;
        expect((await fetchText(handle.port, other)).body).toBe(BAD_REQUEST);
        expect((await fetchText(handle.port, other, { method: "POST", body: '42["x"]' })).body).toBe(BAD_REQUEST);
        const upgrade = await rawHttp(handle.port, upgradeHead(`/socket.io/?EIO=${eio}&transport=websocket&sid=${sid}`) + "\r\n");
        expect(upgrade.text).toMatch(/^HTTP\/1\.1 400 [\s\S]*\r\n\r\nBad request$/);
      }
      expect(await pollEcho(handle, path, 2)).toBe("432[2]");
    });
  });

  it("EIO3 framing in an EIO4 session, and EIO4 framing in an EIO3 session, close that session", async () => {
    const handle = await echoServer({ allowEIO3: true });
    const reasons: Array<[string, string | undefined]> = [];
    handle.io.engine.on("connection", (conn: any) => conn.on("close", (r: string, d?: Error) => reasons.push([r, d?.message])));
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const v4 = await pollingSession(handle);
      expect((await fetchText(handle.port, v4.path, { method: "POST", body: "2:40" })).body).toBe("ok");
      // EIO3 polling answers with length-prefixed framing: 96:0{"sid":...}
      const v3res = await fetchText(handle.port, "/socket.io/?EIO=3&transport=polling");
      const v3sid = JSON.parse(v3res.body.slice(v3res.body.indexOf("{"), v3res.body.indexOf("}") + 1)).sid;
      const v3path = `/socket.io/?EIO=3&transport=polling&sid=${v3sid}`;
      expect((await fetchText(handle.port, v3path, { method: "POST", body: '40\x1e42["x"]' })).body).toBe("ok");
    });
    expect(reasons).toEqual([
      ["transport error", "invalid heartbeat direction"],
      ["parse error", undefined],
    ]);
  });

  it("an upgrade of an upgraded (or upgrading) session gets a 101 then a close; the session is untouched", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "upgrade");
    const sid = canary.client.io.engine.id;
    expect(handle.io.engine.clients[sid]!.upgraded).toBe(true);
    await canary.during(async () => {
      for (let i = 0; i < 3; i++) {
        const again = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
        await withTimeout(again.closed, 5000, "the second upgrade being closed");
      }
      // Two upgrades racing on a polling session: the second is closed, the first completes.
      const { sid: sid2, path } = await pollingSession(handle);
      const first = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid2}`);
      const second = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid2}`);
      await withTimeout(second.closed, 5000, "the racing upgrade being closed");
      first.sendText("2probe");
      expect(await first.next()).toBe("3probe");
      expect((await fetchText(handle.port, path)).body).toBe("6");
      first.sendText("5");
      first.sendText('40');
      expect(await first.nextMessage()).toMatch(/^40\{/);
    });
    expect(handle.io.engine.clients[sid]!.readyState).toBe("open");
  });

  it("a POST or GET to an upgraded session gets code 3; the session is untouched", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "upgrade");
    const sid = canary.client.io.engine.id;
    await canary.during(async () => {
      const path = `${SIO_POLLING_PATH}&sid=${sid}`;
      expect((await fetchText(handle.port, path, { method: "POST", body: '42["injected"]' })).body).toBe(BAD_REQUEST);
      expect((await fetchText(handle.port, path)).body).toBe(BAD_REQUEST);
      expect((await fetchText(handle.port, path, { method: "POST", body: "1" })).body).toBe(BAD_REQUEST);
    });
    expect(canary.client.connected).toBe(true);
  });

  it("concurrent GETs or POSTs on one session close that session, as the reference does", async () => {
    const handle = await echoServer();
    const reasons: Array<string | undefined> = [];
    handle.io.engine.on("connection", (conn: any) => conn.on("close", (_r: string, d?: Error) => reasons.push(d?.message)));
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const a = await pollingSession(handle);
      expect(await pollEcho(handle, a.path, 1, true)).toMatch(/431\[1\]$/);
      const seen = new Promise((resolve) => handle.httpServer.once("request", resolve));
      const pending = fetchText(handle.port, a.path);
      await seen;
      const overlap = await fetchText(handle.port, a.path);
      expect(overlap.status).toBe(400);
      expect((await pending).body).toBe("1");

      const b = await pollingSession(handle);
      const seenPost = new Promise((resolve) => handle.httpServer.once("request", resolve));
      // A POST whose body never ends, then a second POST.
      const slow = rawHttp(handle.port, `POST ${b.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n40`, 2000);
      await seenPost;
      expect((await fetchText(handle.port, b.path, { method: "POST", body: "40" })).status).toBe(400);
      await slow;

      // A POST while a large payload is still being delivered in slices.
      const c = await pollingSession(handle);
      const big = Array.from({ length: 5000 }, () => '42["e"]').join("\x1e");
      const [first, second] = await Promise.all([
        fetchText(handle.port, c.path, { method: "POST", body: "40\x1e" + big }),
        new Promise<void>((resolve) => handle.httpServer.once("request", () => resolve())).then(() =>
          fetchText(handle.port, c.path, { method: "POST", body: '42["e"]' }),
        ),
      ]);
      expect([first.status, second.status].sort()).toEqual([200, 400]);
    });
    expect(reasons).toEqual(["overlap from client", "data request overlap from client", "data request overlap from client"]);
  });

  it("session ids reused from another connection: closed → code 1, other transport → code 3, duplicates refused", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      // A closed session's id.
      const { path } = await pollingSession(handle);
      expect((await fetchText(handle.port, path, { method: "POST", body: "1" })).body).toBe("ok");
      expect((await fetchText(handle.port, path)).body).toBe(UNKNOWN_SID);
      // A WebSocket-only session's id on polling.
      const direct = await RawWebSocket.socketIo(handle.port);
      const clients = handle.io.engine.clients;
      const directSid = Object.keys(clients).find((id) => id !== canary.client.io.engine.id)!;
      expect(clients[directSid]!.transport.name).toBe("websocket");
      expect((await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=${directSid}`)).body).toBe(BAD_REQUEST);
      // Another connection that knows the id tries to take the session over.
      const upgrade = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${directSid}`);
      upgrade.sendText("2probe");
      upgrade.sendText("5");
      await withTimeout(upgrade.closed, 5000, "the hijacking upgrade being closed");
      direct.sendText('421["echo","mine"]');
      expect(await direct.nextMessage()).toBe('431["mine"]');
      // A Socket.IO socket id is not an Engine.IO session id.
      const socketId = [...handle.io.of("/").sockets.keys()][0]!;
      expect((await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=${socketId}`)).body).toBe(UNKNOWN_SID);
      // An id generator that repeats itself cannot hand out a live session twice.
      const engine = handle.io.engine as any;
      const taken = canary.client.io.engine.id;
      engine.generateId = () => taken;
      expect((await fetchText(handle.port, SIO_POLLING_PATH)).body).toBe(BAD_REQUEST);
      const refused = await rawHttp(handle.port, upgradeHead("/socket.io/?EIO=4&transport=websocket") + "\r\n");
      expect(refused.text).toMatch(/400 Bad Request[\s\S]*Bad request$/);
      delete engine.generateId;
    });
    expect(canary.client.connected).toBe(true);
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle, "upgrade");
    const sid = canary.client.io.engine.id;
    await expectNoLeak(
      handle,
      canary,
      async () => {
        const again = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
        await withTimeout(again.closed, 5000, "the second upgrade being closed");
        await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=${sid}`, { method: "POST", body: "40" });
        const a = await pollingSession(handle);
        await fetchText(handle.port, `/socket.io/?EIO=3&transport=polling&sid=${a.sid}`);
        const seen = new Promise((resolve) => handle.httpServer.once("request", resolve));
        const pending = fetchText(handle.port, a.path);
        await seen;
        await fetchText(handle.port, a.path);
        await pending;
      },
      { minTracked: 5 },
    );
  });
});
