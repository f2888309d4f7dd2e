import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  againstReference,
  closeAll,
  eioPath,
  onCleanup,
  pollGet,
  pollingHandshake,
  pollPost,
  request,
  startEngine,
  tidewireOnly,
  waitFor,
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

/** A polling session opened by raw requests, with its server side. */
async function session(h: EngineHandle): Promise<{ sid: string; conn: EngineSocket }> {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const { sid } = await pollingHandshake(h);
  const [conn] = await connection;
  return { sid, conn };
}

/** Resolves once the engine has seen (and synchronously processed) the next request. */
function requestSeen(h: EngineHandle): Promise<unknown> {
  return waitFor(h.httpServer, "request");
}

/** A request whose body is left unfinished, so it stays pending on the server. */
function openPost(h: EngineHandle, sid: string, declaredLength: number, firstBytes: string): http.ClientRequest {
  const req = http.request({
    host: "127.0.0.1",
    port: h.port,
    method: "POST",
    path: eioPath(h, { sid }),
    headers: { "Content-Type": "text/plain;charset=UTF-8", "Content-Length": declaredLength },
    agent: false,
  });
  req.on("error", () => {});
  req.write(firstBytes);
  onCleanup(() => {
    req.destroy();
  });
  return req;
}

describe("engine polling transport", () => {
  it("a GET is held until something is sent", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    expect(conn.transport.writable).toBe(true);
    conn.send("hello");
    const res = await get;
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(res.text).toBe("4hello");
    expect(conn.transport.writable).toBe(false);
  });

  it.skipIf(tidewireOnly)("a held GET gets every packet sent during the turn in one payload", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    expect(conn.transport.writable).toBe(true);
    conn.send("hello");
    conn.send(Buffer.from([1, 2, 3, 4]));
    conn.send("€ and \u{1F600}");
    const res = await get;
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(res.text).toBe("4hello\x1ebAQIDBA==\x1e4€ and \u{1F600}");
  });

  it("a GET arriving while packets are queued is answered at once", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    conn.send("a");
    conn.send("b");
    expect((await pollGet(h, sid)).text).toBe("4a\x1e4b");
  });

  it("POST: every packet is delivered in order, text and binary, answered 200 ok", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const got: unknown[] = [];
    conn.on("message", (m: unknown) => got.push(m));
    const data: unknown[] = [];
    conn.on("data", (m: unknown) => data.push(m));
    const res = await pollPost(h, sid, "4hello\x1ebAQIDBA==\x1e4€\x1e4");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html");
    expect(res.headers["content-length"]).toBe("2");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.text).toBe("ok");
    expect(got).toEqual(["hello", Buffer.from([1, 2, 3, 4]), "€", undefined]);
    expect(data).toEqual(got);
  });

  it("replies sent while a POST is delivered leave in the pending GET before the POST is answered", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    conn.on("message", (m: string) => conn.send(`re:${m}`));
    const finished: string[] = [];
    h.httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.on("finish", () => finished.push(req.method as string));
    });
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    const post = await pollPost(h, sid, "4a\x1e4b\x1e4c");
    expect(post.text).toBe("ok");
    const reply = await get;
    // The client reads the replies before its POST slot frees up, so the
    // messages it sends in reaction to them share one POST.
    expect(finished).toEqual(["GET", "POST"]);
    // engine.io answers the GET with the first reply alone; tidewire with all of them.
    expect(reply.text).toBe(againstReference ? "4re:a" : "4re:a\x1e4re:b\x1e4re:c");
  });

  it("a second GET while one is pending: the first gets a close packet, the second 400, the session closes", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const first = pollGet(h, sid);
    await seen;
    const second = await pollGet(h, sid);
    expect(second.status).toBe(400);
    expect(second.text).toBe("");
    expect((await first).text).toBe("1");
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("overlap from client");
    expect(h.engine.clientsCount).toBe(0);
  });

  it("a second POST while one is being received: 400, the session closes", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    openPost(h, sid, 100, "4a");
    await seen;
    const second = await pollPost(h, sid, "4b");
    expect(second.status).toBe(400);
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("data request overlap from client");
  });

  it("a v4 POST with Content-Type application/octet-stream: 400, the session closes", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const res = await pollPost(h, sid, Buffer.from([0, 1, 0xff, 0x34]), {}, { "Content-Type": "application/octet-stream" });
    expect(res.status).toBe(400);
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("invalid content");
  });

  it("413 for a body over maxHttpBufferSize; the session stays open", async () => {
    const h = await startEngine({ maxHttpBufferSize: 100 });
    const { sid, conn } = await session(h);
    const got: string[] = [];
    conn.on("message", (m: string) => got.push(m));
    const big = await pollPost(h, sid, "4" + "x".repeat(100));
    expect(big.status).toBe(413);
    expect(big.text).toBe("");
    // streamed without Content-Length: refused while reading
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: h.port, method: "POST", path: eioPath(h, { sid }), agent: false });
      req.on("error", reject);
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.write("4" + "y".repeat(60));
      req.write("y".repeat(60));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(conn.readyState).toBe("open");
    expect((await pollPost(h, sid, "4" + "z".repeat(99))).text).toBe("ok");
    expect(got).toEqual(["z".repeat(99)]);
  });

  it("a close packet from the client releases the pending GET with a noop and closes ('transport close')", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    expect((await pollPost(h, sid, "1")).text).toBe("ok");
    expect((await get).text).toBe("6");
    expect((await closed)[0]).toBe("transport close");
  });

  it("server close with a pending GET: the GET gets the close packet ('forced close')", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    conn.close();
    expect((await get).text).toBe("1");
    expect((await closed)[0]).toBe("forced close");
  });

  it("server close with a pending GET and queued packets: the queue first, the close packet in the next GET", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    conn.send("last");
    conn.close();
    conn.send("dropped");
    expect((await get).text).toBe("4last");
    expect(conn.readyState).toBe("closing");
    expect((await pollGet(h, sid)).text).toBe("6\x1e1");
    expect((await closed)[0]).toBe("forced close");
    expect((await pollGet(h, sid)).status).toBe(400);
  });

  it("server close without a pending GET: the next GET gets noop + close", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    conn.close();
    expect(conn.readyState).toBe("closing");
    expect((await pollGet(h, sid)).text).toBe("6\x1e1");
    expect((await closed)[0]).toBe("forced close");
  });

  it("server close with queued packets and no GET: one GET carries them, the next the close packet", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    conn.send("a");
    conn.send("b");
    conn.close();
    conn.send("dropped");
    expect((await pollGet(h, sid)).text).toBe("4a\x1e4b");
    expect((await pollGet(h, sid)).text).toBe("6\x1e1");
    expect((await closed)[0]).toBe("forced close");
  });

  it("engine.close(): a pending GET gets the close packet", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const get = pollGet(h, sid);
    await seen;
    h.engine.close();
    expect((await get).text).toBe("1");
    expect((await closed)[0]).toBe("forced close");
    expect(h.engine.clientsCount).toBe(0);
  });

  it("a client dropping its pending GET ends the session ('poll connection closed prematurely')", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const req = http.request({ host: "127.0.0.1", port: h.port, path: eioPath(h, { sid }), agent: false });
    req.on("error", () => {});
    req.end();
    await seen;
    req.destroy();
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("poll connection closed prematurely");
  });

  it("a client dropping a POST mid-body ends the session ('data request connection closed prematurely')", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    const seen = requestSeen(h);
    const req = openPost(h, sid, 100, "4abc");
    await seen;
    req.destroy();
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("data request connection closed prematurely");
  });

  it("an undecodable packet: the packets before it are delivered, then 'parse error'", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const got: string[] = [];
    conn.on("message", (m: string) => got.push(m));
    const closed = waitFor(conn, "close");
    const res = await pollPost(h, sid, "4a\x1ex\x1e4b");
    expect(res.text).toBe("ok");
    expect(got).toEqual(["a"]);
    expect((await closed)[0]).toBe("parse error");
    expect((await pollGet(h, sid)).status).toBe(400);
  });

  it.skipIf(tidewireOnly)("invalid base64 in a binary packet is a parse error", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const closed = waitFor(conn, "close");
    await pollPost(h, sid, "b!!!!");
    expect((await closed)[0]).toBe("parse error");
  });

  it("send callbacks run once the GET carrying the message was answered", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const order: string[] = [];
    conn.send("a", () => order.push("cb a"));
    conn.send("b", {}, () => order.push("cb b"));
    expect(order).toEqual([]);
    const res = await pollGet(h, sid);
    order.push("response");
    expect(res.text).toBe("4a\x1e4b");
    await new Promise<void>((resolve) => (order.length >= 3 ? resolve() : conn.once("drain", resolve)));
    expect(order.filter((x) => x.startsWith("cb"))).toEqual(["cb a", "cb b"]);
  });

  it("flush and drain events on the session and the server", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const flushed = waitFor(conn, "flush");
    const serverFlush = waitFor(h.engine, "flush");
    const drained = waitFor(conn, "drain");
    conn.send("x");
    const get = pollGet(h, sid);
    const [buffer] = await flushed;
    expect(buffer.map((p: any) => [p.type, p.data])).toEqual([["message", "x"]]);
    const [socket, buffer2] = await serverFlush;
    expect(socket).toBe(conn);
    expect(buffer2).toBe(buffer);
    await drained;
    expect((await get).text).toBe("4x");
  });

  it("packetCreate and packet events expose the packets", async () => {
    const h = await startEngine();
    const { sid, conn } = await session(h);
    const created = waitFor(conn, "packetCreate");
    conn.send("out", { compress: false });
    const [packet] = await created;
    expect(packet).toMatchObject({ type: "message", data: "out", options: { compress: false } });
    const received = waitFor(conn, "packet");
    await pollPost(h, sid, "4in");
    expect((await received)[0]).toMatchObject({ type: "message", data: "in" });
  });

  it("packetCreate sees compress: true unless false was given (engine.io's default)", async () => {
    const h = await startEngine();
    const { conn } = await session(h);
    const seen: unknown[] = [];
    conn.on("packetCreate", (packet: any) => seen.push(packet.options.compress));
    conn.send("a");
    conn.send("b", {});
    conn.send("c", { compress: undefined } as any);
    conn.send("d", { compress: false });
    conn.send("e", { compress: true });
    expect(seen).toEqual([true, true, true, false, true]);
  });

  it("X-XSS-Protection: 0 for old Internet Explorer user agents", async () => {
    const h = await startEngine();
    const res = await request(h, { path: eioPath(h), headers: { "User-Agent": "Mozilla/5.0 (Windows NT 6.1; Trident/7.0)" } });
    expect(res.headers["x-xss-protection"]).toBe("0");
    const plain = await request(h, { path: eioPath(h) });
    expect(plain.headers["x-xss-protection"]).toBeUndefined();
  });
});
