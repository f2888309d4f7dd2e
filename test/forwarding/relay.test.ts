/**
 * Session forwarding between machines, in-process: three tidewire servers on
 * one real Redis (tidewire/redis), raw Engine.IO requests sent to the node
 * of our choice. A session lives on the node that opened it; its requests
 * may reach any node and are relayed to it, its WebSocket upgrade is
 * tunnelled; what cannot be delivered is refused as an unknown session.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { closeAll, onClose, rawRequest, waitFor, withTimeout } from "../helpers/io.js";
import { IN_CI, REDIS_URL, UNKNOWN_SID, openSession, poll, redisPair, redisReachable, startNode, uniqueKey } from "./helpers.js";

const redisUp = await redisReachable();
afterEach(closeAll);

it.runIf(!redisUp && IN_CI)(`finds Redis at ${REDIS_URL} (required when CI=true)`, () => {
  throw new Error(`CI=true but Redis does not answer at ${REDIS_URL}`);
});
if (!redisUp) console.warn(`[forwarding] SKIPPED: no Redis at ${REDIS_URL}`);

const fast = { pingInterval: 1000, pingTimeout: 1000 };

describe.skipIf(!redisUp)("session forwarding over Redis (in-process nodes)", () => {
  it("names the node in every session id and serves a session's requests through any node", async () => {
    const key = uniqueKey();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => startNode(key, { server: fast })));
    const sid = await openSession(a);
    expect(sid).toHaveLength(20);
    expect(sid.endsWith(a.tag)).toBe(true);
    expect(new Set([a.tag, b.tag, c.tag]).size).toBe(3);

    const connected = waitFor(a.io, "connection");
    expect((await poll(b, sid, { method: "POST", body: "40" })).body.toString()).toBe("ok");
    const [socket] = await connected;
    const ack = await poll(c, sid);
    expect(ack.status).toBe(200);
    expect(ack.body.toString()).toMatch(/^40\{"sid":"/);

    // An event through b, its acknowledgement through c: served by a's session.
    socket.on("echo", (x: unknown, cb: (x: unknown) => void) => cb(x));
    expect((await poll(b, sid, { method: "POST", body: '421["echo",{"n":1}]' })).body.toString()).toBe("ok");
    expect((await poll(c, sid)).body.toString()).toBe('431[{"n":1}]');
    expect([a.io.engine.clientsCount, b.io.engine.clientsCount, c.io.engine.clientsCount]).toEqual([1, 0, 0]);
  });

  it("runs the owner's middlewares and CORS on a relayed request, and refusals carry CORS too", async () => {
    const key = uniqueKey();
    const server = { ...fast, cors: { origin: "http://app.example" } };
    const [a, b] = await Promise.all([startNode(key, { server }), startNode(key, { server })]);
    const seen: string[] = [];
    a.io.engine.use((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => {
      seen.push(`${req.method} ${req.headers["x-trace"]} ${req.socket.remoteAddress}`);
      res.setHeader("X-Owner", "a");
      next();
    });
    const sid = await openSession(a);
    seen.length = 0;
    const res = await poll(b, sid, { method: "POST", body: "40", headers: { origin: "http://app.example", "x-trace": "t1" } });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("http://app.example");
    expect(res.headers["x-owner"]).toBe("a");
    expect(seen).toEqual(["POST t1 127.0.0.1"]);

    await a.close();
    const refused = await poll(b, sid, { headers: { origin: "http://app.example" } });
    expect(refused.status).toBe(400);
    expect(refused.body.toString()).toBe(UNKNOWN_SID);
    expect(refused.headers["access-control-allow-origin"]).toBe("http://app.example");
  });

  it("tunnels a WebSocket upgrade that reaches another node", async () => {
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: fast }), startNode(key, { server: fast })]);
    const sid = await openSession(a);
    const connected = waitFor(a.io, "connection");
    await poll(a, sid, { method: "POST", body: "40" });
    const [socket] = await connected;
    await poll(a, sid);

    const ws = new WebSocket(`${b.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    onClose(() => ws.terminate());
    const frames: string[] = [];
    const next = () => withTimeout(new Promise<string>((resolve) => ws.once("message", (d) => resolve(d.toString()))), 3000, "a frame");
    await waitFor(ws, "open");
    ws.send("2probe");
    expect(await next()).toBe("3probe");
    const upgraded = waitFor(socket.conn, "upgrade");
    ws.send("5");
    await upgraded;
    expect(socket.conn.transport.name).toBe("websocket");

    ws.on("message", (d) => frames.push(d.toString()));
    const got = waitFor(socket, "up");
    ws.send('42["up",{"x":1}]');
    expect((await got)[0]).toEqual({ x: 1 });
    socket.emit("down", Buffer.from([1, 2, 3]));
    await withTimeout((async () => { while (frames.length < 2) await new Promise((r) => setTimeout(r, 10)); })(), 3000, "binary event");
    expect(frames[0]).toBe('451-["down",{"_placeholder":true,"num":0}]');
    expect(frames[1]).toBe(Buffer.from([1, 2, 3]).toString());

    // The client leaves: the owner's WebSocket closes as for a local client.
    const closed = waitFor(socket, "disconnect");
    ws.close();
    expect((await closed)[0]).toBe("transport close");
  });

  it("relays requests that arrive over HTTP/2 (allowHTTP1 servers): pseudo-headers become HTTP/1's", async () => {
    const tls = {
      key: readFileSync(new URL("../fixtures/test-key.pem", import.meta.url)),
      cert: readFileSync(new URL("../fixtures/test-cert.pem", import.meta.url)),
    };
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: fast, http2: tls }), startNode(key, { server: fast, http2: tls })]);
    const open = await rawRequest(`${a.url}/socket.io/?EIO=4&transport=polling`, { ca: tls.cert });
    const sid = JSON.parse(open.body.toString().split("\x1e")[0].slice(1)).sid;
    const session = http2.connect(b.url, { ca: tls.cert });
    onClose(() => session.close());
    const h2 = (method: string, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":method": method, ":path": `/socket.io/?EIO=4&transport=polling&sid=${sid}`, "content-type": "text/plain" });
        let status = 0;
        let text = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.setEncoding("utf8").on("data", (c: string) => (text += c));
        req.on("end", () => resolve({ status, body: text }));
        req.on("error", reject);
        req.end(body);
      });
    expect(await h2("POST", "40")).toEqual({ status: 200, body: "ok" });
    const ack = await h2("GET");
    expect(ack.status).toBe(200);
    expect(ack.body).toMatch(/^40\{"sid":"/);
    expect(a.io.of("/").sockets.size).toBe(1);
  });

  it("refuses at once a request for a node that left (Session ID unknown), naming the reason", async () => {
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: fast }), startNode(key, { server: fast })]);
    const sid = await openSession(a);
    await a.close();
    const errors: any[] = [];
    b.io.engine.on("connection_error", (e: any) => errors.push(e));
    const started = Date.now();
    const res = await poll(b, sid);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(400);
    expect(res.body.toString()).toBe(UNKNOWN_SID);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe(1);
    expect(errors[0].context).toMatchObject({ sid, name: "FORWARDING_FAILED", reason: "owner gone" });
    expect(errors[0].context.hint).toMatch(/left the cluster/);

    // An upgrade for it is refused the same way.
    const ws = new WebSocket(`${b.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    ws.on("error", () => {});
    const [, response] = await waitFor<[unknown, http.IncomingMessage]>(ws, "unexpected-response");
    expect(response.statusCode).toBe(400);
  });

  it("a client leaving a relayed poll ends the session on the owner as it would locally", async () => {
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: { pingInterval: 5000, pingTimeout: 1000 } }), startNode(key)]);
    const sid = await openSession(a);
    const closed = waitFor(a.io.engine.clients[sid], "close");
    const req = http.request(`${b.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    req.on("error", () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    expect((await closed)[0]).toBe("transport error");
    expect(a.io.engine.clientsCount).toBe(0);
  });

  it("bounds forwarded requests in number (maxPending) and in time (timeout)", async () => {
    const key = uniqueKey();
    const a = await startNode(key, { server: { pingInterval: 1500, pingTimeout: 1000 } });
    const b = await startNode(key, { adapter: { forwarding: { maxPending: 1, timeout: 300 } } });
    const reasons: string[] = [];
    b.io.engine.on("connection_error", (e: any) => reasons.push(e.context?.reason));
    const [s1, s2] = [await openSession(a), await openSession(a)];

    const held = poll(b, s1); // a long poll: waits on a for up to pingInterval
    await new Promise((r) => setTimeout(r, 100));
    const refused = await poll(b, s2);
    expect(refused.body.toString()).toBe(UNKNOWN_SID);
    expect(reasons).toEqual(["limit"]);
    expect((await held).status).toBe(200);

    // A request the owner does not answer in time.
    let ownerSaw: http.IncomingMessage | null = null;
    a.io.engine.use((req: http.IncomingMessage, _res: unknown, next: () => void) => {
      if (req.headers["x-hold"]) ownerSaw = req;
      else next();
    });
    const started = Date.now();
    const late = await poll(b, s2, { method: "POST", body: "40", headers: { "x-hold": "1" } });
    expect(late.body.toString()).toBe(UNKNOWN_SID);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(reasons).toEqual(["limit", "timeout"]);
    // The origin cancelled it: the owner's copy of the request is gone too.
    expect(ownerSaw).not.toBeNull();
    await withTimeout(
      (async () => {
        while (!(ownerSaw as unknown as http.IncomingMessage).socket.destroyed) await new Promise((r) => setTimeout(r, 10));
      })(),
      2000,
      "the held request to be cancelled",
    );
  });

  it("ignores malformed frames on a node's channel and keeps forwarding", async () => {
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: fast }), startNode(key, { server: fast })]);
    const [pub] = await redisPair();
    const channel = Buffer.from(`${key}-forward#${a.tag}#`);
    const junk = [Buffer.alloc(0), Buffer.from("hello"), Buffer.from([1, 1, ...Buffer.from(b.tag), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]), Buffer.from([1, 1, ...Buffer.from(b.tag), 0, 0, 0, 1, 0, 0, 0, 2, 0x7b, 0x7d])];
    for (const j of junk) await pub.publish(channel, j);
    const sid = await openSession(a);
    expect((await poll(b, sid, { method: "POST", body: "40" })).body.toString()).toBe("ok");
  });

  it("refuses requests naming nodes that do not exist, at once, and keeps nothing of them", async () => {
    const key = uniqueKey();
    const b = await startNode(key, { server: fast });
    const made = Array.from({ length: 200 }, (_, i) => `${"x".repeat(10)}${String(i).padStart(4, "0")}${"zz" + String(i % 10).repeat(4)}`.slice(0, 20));
    const answers = await Promise.all(made.map((sid) => poll(b, sid, { method: "POST", body: "40" })));
    expect(answers.every((r) => r.status === 400 && r.body.toString() === UNKNOWN_SID)).toBe(true);
    const router = b.io.of("/").adapter[Symbol.for("tidewire.sessionRouter")];
    expect(router.pending).toEqual({ sent: 0, served: 0 });
    expect(router.stats.refused).toBe(200);
  });

  it("does not forward sessions with ids of the application's own, nor with forwarding: false", async () => {
    const key = uniqueKey();
    const [a, b] = await Promise.all([startNode(key, { server: fast }), startNode(key, { server: fast, adapter: { forwarding: false } })]);
    const c = await startNode(key, { server: fast });
    a.io.engine.generateId = () => "custom-" + Math.random().toString(36).slice(2);
    const custom = await openSession(a);
    expect(custom.startsWith("custom-")).toBe(true);
    expect((await poll(c, custom)).body.toString()).toBe(UNKNOWN_SID);

    const own = await openSession(c);
    expect((await poll(b, own)).body.toString()).toBe(UNKNOWN_SID);
    // Without a router, b's ids name no node: nobody forwards them.
    const bSid = await openSession(b);
    expect(bSid.endsWith(c.tag) || bSid.endsWith(a.tag)).toBe(false);
    expect((await poll(c, bSid)).body.toString()).toBe(UNKNOWN_SID);
  });

  it("checks the forwarding option when the adapter is created", async () => {
    const { createAdapter } = await import("../../src/redis/index.js");
    const [pub, sub] = await redisPair();
    expect(() => createAdapter(pub, sub, { forwarding: { maxPending: 0 } })).toThrow(/Invalid option "forwarding.maxPending"/);
    expect(() => createAdapter(pub, sub, { forwarding: "yes" as never })).toThrow(/Invalid option "forwarding"/);
  });
});

describe.skipIf(!redisUp)("session forwarding over tidewire/redis-streams", () => {
  it("relays requests and tunnels upgrades between nodes, with connection state recovery on", async () => {
    const key = uniqueKey();
    const server = { ...fast, connectionStateRecovery: { maxDisconnectionDuration: 10000 } };
    const [a, b] = await Promise.all([startNode(key, { streams: true, server }), startNode(key, { streams: true, server })]);
    expect(a.tag).not.toBe("");
    const sid = await openSession(a);
    expect(sid.endsWith(a.tag)).toBe(true);
    const connected = waitFor(a.io, "connection");
    expect((await poll(b, sid, { method: "POST", body: "40" })).body.toString()).toBe("ok");
    const [socket] = await connected;
    expect((await poll(b, sid)).body.toString()).toMatch(/^40\{"sid":"[^"]+","pid":"/);
    socket.on("echo", (x: unknown, cb: (x: unknown) => void) => cb(x));
    expect((await poll(b, sid, { method: "POST", body: '420["echo",5]' })).body.toString()).toBe("ok");
    expect((await poll(b, sid)).body.toString()).toMatch(/^430\[5,?/);

    const ws = new WebSocket(`${b.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    onClose(() => ws.terminate());
    await waitFor(ws, "open");
    ws.send("2probe");
    expect(await withTimeout(new Promise<string>((resolve) => ws.once("message", (d) => resolve(d.toString()))), 3000, "3probe")).toBe("3probe");
    const upgraded = waitFor(socket.conn, "upgrade");
    ws.send("5");
    await upgraded;
    const got = withTimeout(new Promise<string>((resolve) => ws.on("message", (d) => d.toString().startsWith("43") && resolve(d.toString()))), 3000, "ack");
    ws.send('421["echo","over the tunnel"]');
    expect(await got).toBe('431["over the tunnel"]');
  });
});
