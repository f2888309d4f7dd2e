import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  eioPath,
  pollGet,
  pollPost,
  rawWebSocket,
  RawWs,
  request,
  startEngine,
  waitFor,
  wsUrl,
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

const V3 = { EIO: "3" };

/** A v3 polling session opened with raw requests. */
async function v3Session(h: EngineHandle, query: Record<string, string> = {}) {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const res = await request(h, { path: eioPath(h, { ...V3, ...query }) });
  const [conn] = await connection;
  return { sid: conn.id, conn, first: res };
}

describe("engine EIO3 (allowEIO3)", () => {
  it("polling handshake: a <length>:<packet> payload with the same open JSON", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn, first } = await v3Session(h);
    expect(conn.protocol).toBe(3);
    const match = /^(\d+):0(\{.*\})$/.exec(first.text);
    expect(match).not.toBe(null);
    expect(Number(match![1])).toBe(match![2].length + 1);
    const open = JSON.parse(match![2]);
    expect(Object.keys(open).sort()).toEqual(["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    expect(open.sid).toBe(sid);
  });

  it("a missing EIO counts as revision 3", async () => {
    const h = await startEngine({ allowEIO3: true });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    await request(h, { path: `${h.path}?transport=polling` });
    expect((await connection)[0].protocol).toBe(3);
  });

  it("text payloads count lengths in UTF-16 code units, both ways", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h);
    conn.send('2["numeric","€"]');
    conn.send("\u{1F600}");
    expect((await pollGet(h, sid, V3)).text).toBe('17:42["numeric","€"]3:4\u{1F600}');
    const got: string[] = [];
    conn.on("message", (m: string) => got.push(m));
    const res = await pollPost(h, sid, "2:4a3:4\u{1F600}6:4hello", V3);
    expect(res.text).toBe("ok");
    expect(got).toEqual(["a", "\u{1F600}", "hello"]);
  });

  it("binary for clients without b64: an octet-stream payload, both ways", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h);
    conn.send("40");
    conn.send(Buffer.from([1, 2, 3]));
    const res = await pollGet(h, sid, V3);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect([...res.body]).toEqual([0x00, 0x03, 0xff, 0x34, 0x34, 0x30, 0x01, 0x04, 0xff, 0x04, 1, 2, 3]);
    const got: unknown[] = [];
    conn.on("message", (m: unknown) => got.push(m));
    const body = Buffer.from([0x00, 0x03, 0xff, 0x34, 0xc3, 0xa9, 0x01, 0x03, 0xff, 0x04, 9, 8]);
    const post = await pollPost(h, sid, body, V3, { "Content-Type": "application/octet-stream" });
    expect(post.text).toBe("ok");
    expect(got).toEqual(["é", Buffer.from([9, 8])]);
  });

  it("with b64, binary goes as b4<base64> in a text payload, and is accepted so", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h, { b64: "1" });
    conn.send(Buffer.from([1, 2, 3]));
    const res = await pollGet(h, sid, { ...V3, b64: "1" });
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.text).toBe("6:b4AQID");
    const got = waitFor(conn, "message");
    await pollPost(h, sid, "6:b4BAUG", { ...V3, b64: "1" });
    expect((await got)[0]).toEqual(Buffer.from([4, 5, 6]));
  });

  it("a malformed text payload is a parse error", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h);
    const closed = waitFor(conn, "close");
    await pollPost(h, sid, "5:4a", V3);
    expect((await closed)[0]).toBe("parse error");
  });

  it("reverse heartbeat: the client pings, the server pongs", async () => {
    const h = await startEngine({ allowEIO3: true, pingInterval: 60, pingTimeout: 60 });
    const { sid, conn } = await v3Session(h);
    const heartbeat = waitFor(conn, "heartbeat");
    await pollPost(h, sid, "1:2", V3);
    await heartbeat;
    expect((await pollGet(h, sid, V3)).text).toBe("1:3");
    // no client ping for pingInterval + pingTimeout: the session ends
    const closed = waitFor(conn, "close");
    const started = Date.now();
    expect((await closed)[0]).toBe("ping timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it("a pong from a v3 client is a protocol error", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h);
    const closed = waitFor(conn, "close");
    await pollPost(h, sid, "1:3", V3);
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("invalid heartbeat direction");
  });

  it("WebSocket: binary frames carry the type byte 4, both ways", async () => {
    const h = await startEngine({ allowEIO3: true });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = await rawWebSocket(h, V3);
    const [conn] = await connection;
    expect(conn.protocol).toBe(3);
    expect(((await ws.next()) as string)[0]).toBe("0");
    conn.send(Buffer.from([1, 2, 3]));
    conn.send("text");
    expect(await ws.next()).toEqual(Buffer.from([4, 1, 2, 3]));
    expect(await ws.next()).toBe("4text");
    const got = waitFor(conn, "message");
    ws.send(Buffer.from([4, 7, 7]));
    expect((await got)[0]).toEqual(Buffer.from([7, 7]));
    ws.send("2");
    expect(await ws.next()).toBe("3");
  });

  it("upgrade from polling works for v3 clients", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid, conn } = await v3Session(h);
    const ws = new RawWs(wsUrl(h, { ...V3, sid }));
    await ws.opened;
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect((await pollGet(h, sid, V3)).text).toBe("1:6");
    const upgraded = waitFor(conn, "upgrade");
    ws.send("5");
    await upgraded;
    conn.send("hi");
    expect(await ws.next()).toBe("4hi");
  });

  it("a follow-up request with EIO=4 on a v3 session is refused (code 3)", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid } = await v3Session(h);
    const res = await pollGet(h, sid, { EIO: "4" });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ code: 3, message: "Bad request" });
  });
});
