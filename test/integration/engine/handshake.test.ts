import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  connectClient,
  eioPath,
  MODES,
  pollingHandshake,
  rawUpgrade,
  rawWebSocket,
  request,
  startEngine,
  tidewireOnly,
  waitFor,
} from "../../helpers/engine.js";

afterEach(closeAll);

const OPEN_KEYS = ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"];

describe("engine handshake", () => {
  it("polling: open packet with exactly the five keys, headers and a 20-char sid", async () => {
    const h = await startEngine();
    const res = await request(h, { path: eioPath(h) });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Number(res.headers["content-length"])).toBe(res.body.length);
    expect(res.text[0]).toBe("0");
    const open = JSON.parse(res.text.slice(1));
    expect(Object.keys(open).sort()).toEqual(OPEN_KEYS);
    expect(open).toMatchObject({ upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 });
    expect(open.sid).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(h.engine.clientsCount).toBe(1);
  });

  it.skipIf(tidewireOnly)("clients is a null-prototype registry", async () => {
    const h = await startEngine();
    const { sid } = await pollingHandshake(h);
    expect(Object.getPrototypeOf(h.engine.clients)).toBe(null);
    expect(Object.keys(h.engine.clients)).toEqual([sid]);
  });

  it("advertised values follow the options; upgrades [] without allowUpgrades or websocket", async () => {
    const h = await startEngine({ pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 5000, allowUpgrades: false });
    const { open } = await pollingHandshake(h);
    expect(open).toMatchObject({ upgrades: [], pingInterval: 300, pingTimeout: 200, maxPayload: 5000 });
    const h2 = await startEngine({ transports: ["polling"] });
    expect((await pollingHandshake(h2)).open.upgrades).toEqual([]);
  });

  it("direct websocket: first frame is the open packet with upgrades []", async () => {
    const h = await startEngine();
    const ws = await rawWebSocket(h);
    const first = (await ws.next()) as string;
    expect(first[0]).toBe("0");
    const open = JSON.parse(first.slice(1));
    expect(Object.keys(open).sort()).toEqual(OPEN_KEYS);
    expect(open.upgrades).toEqual([]);
  });

  it("initialPacket follows the open packet in the same first response", async () => {
    const h = await startEngine({ initialPacket: "hello" });
    const res = await request(h, { path: eioPath(h) });
    const [open, second, ...rest] = res.text.split("\x1e");
    expect(open[0]).toBe("0");
    expect(second).toBe("4hello");
    expect(rest).toEqual([]);
    const ws = await rawWebSocket(h);
    expect(((await ws.next()) as string)[0]).toBe("0");
    expect(await ws.next()).toBe("4hello");
  });

  it("emits connection with a session describing the request", async () => {
    const h = await startEngine();
    const connection = waitFor(h.engine, "connection");
    const { sid } = await pollingHandshake(h, { foo: "bar" });
    const [conn] = await connection;
    expect(conn.id).toBe(sid);
    expect(conn.protocol).toBe(4);
    expect(conn.readyState).toBe("open");
    expect(conn.transport.name).toBe("polling");
    expect(conn.remoteAddress).toMatch(/127\.0\.0\.1/);
    expect(conn.request.url).toContain("foo=bar");
    expect(h.engine.clients[sid]).toBe(conn);
  });

  it("initial_headers on the handshake only, headers on every response, also on the 101", async () => {
    const h = await startEngine();
    const initial: string[] = [];
    const all: string[] = [];
    h.engine.on("initial_headers", (headers: Record<string, unknown>, req: { url: string }) => {
      headers["X-Initial"] = "yes";
      initial.push(req.url);
    });
    h.engine.on("headers", (headers: Record<string, unknown>, req: { url: string }) => {
      headers["X-Every"] = "1";
      all.push(req.url);
    });
    const { sid, response } = await pollingHandshake(h);
    expect(response.headers["x-initial"]).toBe("yes");
    expect(response.headers["x-every"]).toBe("1");
    const post = await request(h, { method: "POST", path: eioPath(h, { sid }), body: "4x" });
    expect(post.headers["x-initial"]).toBeUndefined();
    expect(post.headers["x-every"]).toBe("1");
    expect(initial).toHaveLength(1);
    expect(all).toHaveLength(2);

    const upgrade = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      import("ws").then(({ WebSocket }) => {
        const ws = new WebSocket(`ws://127.0.0.1:${h.port}${eioPath(h, { transport: "websocket" })}`);
        ws.on("upgrade", (res) => resolve(res.headers));
        ws.on("error", reject);
        ws.on("open", () => ws.close());
      });
    });
    expect(upgrade["x-initial"]).toBe("yes");
    expect(upgrade["x-every"]).toBe("1");
    expect(initial).toHaveLength(2);
  });

  it("generateId may be overridden, also async", async () => {
    const h = await startEngine();
    let n = 0;
    h.engine.generateId = () => `custom-${++n}`;
    expect((await pollingHandshake(h)).sid).toBe("custom-1");
    h.engine.generateId = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return `async-${++n}`;
    };
    expect((await pollingHandshake(h)).sid).toBe("async-2");
    const ws = await rawWebSocket(h);
    expect(JSON.parse(((await ws.next()) as string).slice(1)).sid).toBe("async-3");
  });

  it("generateId failing (throw or reject) refuses the handshake with code 3", async () => {
    const h = await startEngine();
    const errors: any[] = [];
    h.engine.on("connection_error", (e: any) => errors.push(e));
    h.engine.generateId = () => {
      throw new Error("boom");
    };
    const res = await request(h, { path: eioPath(h) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ code: 3, message: "Bad request" });
    h.engine.generateId = () => Promise.reject(new Error("nope"));
    const res2 = await request(h, { path: eioPath(h) });
    expect(JSON.parse(res2.text)).toEqual({ code: 3, message: "Bad request" });
    expect(errors.map((e) => e.context.name)).toEqual(["ID_GENERATION_ERROR", "ID_GENERATION_ERROR"]);
    expect(h.engine.clientsCount).toBe(0);
  });

  it.skipIf(tidewireOnly)("an id already in use is refused instead of replacing a session", async () => {
    const h = await startEngine();
    h.engine.generateId = () => "same";
    await pollingHandshake(h);
    const res = await request(h, { path: eioPath(h) });
    expect(JSON.parse(res.text)).toEqual({ code: 3, message: "Bad request" });
    expect(h.engine.clientsCount).toBe(1);
  });

  it("allowRequest accepts or refuses (403, custom message), sync and async", async () => {
    let allow = false;
    const h = await startEngine({
      allowRequest: (req, cb) => {
        if (req.url?.includes("later")) setTimeout(() => cb(null, allow), 5);
        else cb(allow ? null : "go away", allow);
      },
    });
    const refused = await request(h, { path: eioPath(h) });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toEqual({ code: 4, message: "go away" });
    const refusedLater = await request(h, { path: eioPath(h, { later: "1" }) });
    expect(refusedLater.status).toBe(403);
    expect(JSON.parse(refusedLater.text)).toEqual({ code: 4, message: "Forbidden" });
    allow = true;
    expect((await pollingHandshake(h)).sid).toBeTruthy();
    expect((await pollingHandshake(h, { later: "1" })).sid).toBeTruthy();
    // follow-up requests of a session are not asked again
    const { sid } = await pollingHandshake(h);
    allow = false;
    const post = await request(h, { method: "POST", path: eioPath(h, { sid }), body: "4a" });
    expect(post.text).toBe("ok");
  });

  it("allowRequest is asked for websocket handshakes too; a refusal is a raw 400", async () => {
    const seen: string[] = [];
    const h = await startEngine({
      allowRequest: (req, cb) => {
        seen.push(String(req.url));
        cb("not you", false);
      },
    });
    const raw = await rawUpgrade(h, eioPath(h, { transport: "websocket" }));
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.endsWith("\r\n\r\nnot you")).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it.each(MODES)("the official client connects (%s)", async (mode) => {
    const h = await startEngine();
    const { client, conn } = await connectClient(h, mode);
    expect(client.id).toBe(conn.id);
    expect(conn.transport.name).toBe(mode === "polling" ? "polling" : "websocket");
    expect(conn.upgraded).toBe(mode === "upgrade");
  });
});
