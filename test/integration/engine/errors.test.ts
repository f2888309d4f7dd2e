import * as http from "node:http";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  againstReference,
  closeAll,
  eioPath,
  onCleanup,
  pollingHandshake,
  rawUpgrade,
  request,
  startEngine,
  waitFor,
  type EngineHandle,
} from "../../helpers/engine.js";

afterEach(closeAll);

const BODY = {
  0: { code: 0, message: "Transport unknown" },
  1: { code: 1, message: "Session ID unknown" },
  2: { code: 2, message: "Bad handshake method" },
  3: { code: 3, message: "Bad request" },
  5: { code: 5, message: "Unsupported protocol version" },
} as const;

async function expectError(h: EngineHandle, path: string, code: keyof typeof BODY, method = "GET") {
  const errors: any[] = [];
  const listener = (e: any) => errors.push(e);
  h.engine.on("connection_error", listener);
  const res = await request(h, { method, path });
  h.engine.off("connection_error", listener);
  expect(res.status).toBe(400);
  expect(res.headers["content-type"]).toBe("application/json");
  expect(JSON.parse(res.text)).toEqual(BODY[code]);
  expect(errors).toHaveLength(1);
  expect(errors[0].code).toBe(code);
  expect(errors[0].message).toBe(BODY[code].message);
  expect(errors[0].req.url).toBe(path);
  return errors[0];
}

/** Sends a request byte for byte (to get headers Node's client refuses to send). */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (c) => (data += c.toString("latin1")));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
    onCleanup(() => {
      socket.destroy();
    });
  });
}

describe("engine error responses", () => {
  it("code 0: missing, unknown, disabled transports and prototype keys", async () => {
    const h = await startEngine({ transports: ["polling"] });
    let e = await expectError(h, `${h.path}?EIO=4`, 0);
    expect(e.context).toEqual({ transport: undefined });
    for (const t of ["foo", "constructor", "__proto__", "toString", "hasOwnProperty", "webtransport", "websocket"]) {
      e = await expectError(h, eioPath(h, { transport: t }), 0);
      expect(e.context).toEqual({ transport: t });
    }
  });

  it("code 1: unknown sid, prototype keys as sid, closed sessions", async () => {
    const h = await startEngine();
    for (const sid of ["nope", "__proto__", "constructor", "toString"]) {
      const e = await expectError(h, eioPath(h, { sid }), 1);
      expect(e.context).toEqual({ sid });
    }
    const connection = waitFor(h.engine, "connection");
    const { sid } = await pollingHandshake(h);
    const [conn] = await connection;
    conn.close(true);
    await expectError(h, eioPath(h, { sid }), 1);
    await expectError(h, eioPath(h, { sid }), 1, "POST");
  });

  it("code 2: a handshake that is not a GET", async () => {
    const h = await startEngine();
    for (const method of ["POST", "PUT", "OPTIONS", "DELETE"]) {
      const e = await expectError(h, eioPath(h), 2, method);
      expect(e.context).toEqual({ method });
    }
  });

  it("code 3: transport=websocket without an upgrade, on a handshake", async () => {
    const h = await startEngine();
    const e = await expectError(h, eioPath(h, { transport: "websocket" }), 3);
    expect(e.context).toEqual({ name: "TRANSPORT_HANDSHAKE_ERROR" });
  });

  it("code 3: a polling request with a changed EIO", async () => {
    const h = await startEngine({ allowEIO3: true });
    const { sid } = await pollingHandshake(h);
    const e = await expectError(h, eioPath(h, { sid, EIO: "3" }), 3);
    expect(e.context).toEqual({ name: "PROTOCOL_MISMATCH", protocol: 3, previousProtocol: 4 });
  });

  it("code 3: an Origin header with characters not allowed in headers", async () => {
    const httpServer = http.createServer({ insecureHTTPParser: true });
    const h = await startEngine({}, httpServer);
    const errors: any[] = [];
    h.engine.on("connection_error", (err: any) => errors.push(err));
    const answer = await rawHttp(
      h.port,
      `GET ${eioPath(h)} HTTP/1.1\r\nHost: x\r\nOrigin: http://a\x01b\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
    expect(answer.slice(answer.indexOf("\r\n\r\n") + 4)).toContain('{"code":3,"message":"Bad request"}');
    expect(errors.map((e) => e.context)).toEqual([{ name: "INVALID_ORIGIN", origin: "http://a\x01b" }]);
    const ok = await rawHttp(h.port, `GET ${eioPath(h)} HTTP/1.1\r\nHost: x\r\nOrigin: http://a\tb\r\nConnection: close\r\n\r\n`);
    expect(ok.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
  });

  it("code 5: EIO missing or not exactly 4, without allowEIO3", async () => {
    const h = await startEngine();
    for (const EIO of [undefined, "3", "abc", "5", "4.0", " 4"]) {
      const e = await expectError(h, eioPath(h, { EIO }), 5);
      expect(e.context).toMatchObject({ protocol: 3 });
      // tidewire adds what to do (the body, checked above, stays engine.io's)
      if (!againstReference) expect(e.context.hint).toMatch(/allowEIO3: true/);
    }
    expect(h.engine.clientsCount).toBe(0);
  });

  it("verification order: transport, then sid, then method", async () => {
    const h = await startEngine();
    await expectError(h, eioPath(h, { transport: "foo", sid: "nope" }), 0, "PUT");
    await expectError(h, eioPath(h, { sid: "nope" }), 1, "PUT");
    await expectError(h, eioPath(h, { EIO: "3" }), 2, "POST");
  });

  it("a session request with a method other than GET/POST gets 500", async () => {
    const h = await startEngine();
    const { sid } = await pollingHandshake(h);
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const res = await request(h, { method, path: eioPath(h, { sid }) });
      expect(res.status).toBe(500);
      expect(res.text).toBe("");
    }
  });

  it("middleware failures (next(err), throw, rejection) are code 3 MIDDLEWARE_FAILURE", async () => {
    const h = await startEngine();
    let mode = "";
    h.engine.use((req: any, _res: any, next: any) => {
      if (mode === "next") next(new Error("no"));
      else if (mode === "throw") throw new Error("thrown");
      else next();
    });
    h.engine.use(async (_req: any, _res: any, next: any) => {
      if (mode === "reject") throw new Error("rejected");
      next();
    });
    for (mode of ["next", "throw", "reject"]) {
      const e = await expectError(h, eioPath(h), 3);
      expect(e.context.name).toBe("MIDDLEWARE_FAILURE");
    }
    mode = "";
    expect((await pollingHandshake(h)).sid).toBeTruthy();
    mode = "next";
    const raw = await rawUpgrade(h, eioPath(h, { transport: "websocket" }));
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.endsWith("\r\n\r\nBad request")).toBe(true);
  });

  it("middlewares may add headers to responses and to the 101", async () => {
    const h = await startEngine();
    h.engine.use((_req: any, res: any, next: any) => {
      res.setHeader("X-From-Middleware", "1");
      next();
    });
    const { response } = await pollingHandshake(h);
    expect(response.headers["x-from-middleware"]).toBe("1");
    const { WebSocket } = await import("ws");
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}${eioPath(h, { transport: "websocket" })}`);
      ws.on("upgrade", (res) => resolve(res.headers));
      ws.on("error", reject);
      ws.on("open", () => ws.close());
    });
    expect(headers["x-from-middleware"]).toBe("1");
  });

  describe("on upgrade requests: raw HTTP/1.1 400 and the connection destroyed", () => {
    const expectRaw = (raw: string, message: string) => {
      expect(raw).toBe(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n" +
          `Content-Length: ${message.length}\r\n\r\n${message}`,
      );
    };

    it("unknown transport and unknown sid", async () => {
      const h = await startEngine();
      const errors: any[] = [];
      h.engine.on("connection_error", (e: any) => errors.push(e.code));
      expectRaw(await rawUpgrade(h, eioPath(h, { transport: "foo" })), "Transport unknown");
      expectRaw(await rawUpgrade(h, eioPath(h, { transport: "websocket", sid: "nope" })), "Session ID unknown");
      expectRaw(await rawUpgrade(h, eioPath(h, { transport: "websocket", sid: "__proto__" })), "Session ID unknown");
      expect(errors).toEqual([0, 1, 1]);
    });

    it("EIO other than 4 without allowEIO3: no session, the client gets a 400", async () => {
      const h = await startEngine();
      const errors: any[] = [];
      h.engine.on("connection_error", (e: any) => errors.push(e));
      const raw = await rawUpgrade(h, eioPath(h, { transport: "websocket", EIO: "3" }));
      expect(raw).toContain("HTTP/1.1 400 Bad Request\r\n");
      expect(raw.endsWith("Unsupported protocol version")).toBe(true);
      expect(errors.map((e) => [e.code, e.context.protocol])).toEqual([[5, 3]]);
      if (!againstReference) expect(errors[0].context.hint).toMatch(/allowEIO3: true/);
      expect(h.engine.clientsCount).toBe(0);
    });
  });
});
