/**
 * Class 3: `__proto__`, `constructor` and other prototype keys as the
 * transport name, the session id, the protocol version, in the query, as
 * namespace and event names, in CONNECT auth and in event payloads (also
 * where binary placeholders are put back), in the recovery fields and in
 * an EIO3 namespace query (CVE-2023-31125). Reference outcome: prototype
 * keys are unknown transports/sessions/namespaces, plain data elsewhere,
 * and no prototype is ever modified.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  fetchText,
  pollingHandshake,
  rawHttp,
  RawWebSocket,
  upgradeHead,
  withTimeout,
} from "./helpers.js";

const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];

const PROTOTYPES: Array<[string, object]> = [
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
  ["String.prototype", String.prototype],
];
const snapshot = () => PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]);
let before: ReturnType<typeof snapshot>;

beforeEach(() => {
  before = snapshot();
});

afterEach(async () => {
  await closeAll();
  // No test may have added (or removed) anything on a built-in prototype.
  expect(snapshot()).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe("hostile: prototype keys", () => {
  it("as transport, sid or EIO: unknown transport (0), unknown session (1), unsupported protocol (5)", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      for (const key of PROTO_KEYS) {
        expect((await fetchText(handle.port, `/socket.io/?EIO=4&transport=${key}`)).body).toBe(
          '{"code":0,"message":"Transport unknown"}',
        );
        expect((await fetchText(handle.port, `/socket.io/?EIO=4&transport=polling&sid=${key}`)).body).toBe(
          '{"code":1,"message":"Session ID unknown"}',
        );
        expect((await fetchText(handle.port, `/socket.io/?EIO=${key}&transport=polling`)).body).toBe(
          '{"code":5,"message":"Unsupported protocol version"}',
        );
        const upgrade = await rawHttp(handle.port, upgradeHead(`/socket.io/?EIO=4&transport=${key}`) + "\r\n");
        expect(upgrade.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\nTransport unknown$/);
        const upgradeSid = await rawHttp(handle.port, upgradeHead(`/socket.io/?EIO=4&transport=websocket&sid=${key}`) + "\r\n");
        expect(upgradeSid.text).toMatch(/\r\n\r\nSession ID unknown$/);
      }
    });
  });

  it("in the query and the headers: kept as plain data in handshake.query/headers", async () => {
    const handle = await echoServer();
    const connected = new Promise<any>((resolve) => handle.io.once("connection", resolve));
    const ws = await RawWebSocket.open(
      handle.port,
      "/socket.io/?EIO=4&transport=websocket&__proto__[polluted]=1&constructor[prototype][polluted]=1&__proto__=2&toString=3",
      "constructor: yes\r\nprototype: yes\r\n",
    );
    await ws.next();
    ws.sendText("40");
    const socket = await connected;
    const query = socket.handshake.query;
    expect(Object.getPrototypeOf(query)).toBe(null);
    expect(Object.keys(query)).toEqual(["EIO", "transport", "__proto__[polluted]", "constructor[prototype][polluted]", "__proto__", "toString"]);
    expect(query.__proto__).toBe("2");
    expect(socket.handshake.headers.constructor).toBe("yes");
    expect(socket.handshake.headers.prototype).toBe("yes");
  });

  it("as namespace names: 'Invalid namespace' unless defined, nothing registered", async () => {
    const handle = await echoServer();
    handle.io.of("/constructor").on("connection", (s) => s.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v)));
    const canary = await Canary.connect(handle);
    const names = [...handle.io._nsps.keys()];
    await canary.during(async () => {
      const ws = await RawWebSocket.open(handle.port);
      await ws.next();
      for (const key of PROTO_KEYS.filter((k) => k !== "constructor")) {
        ws.sendText(`40/${key},`);
        expect(await ws.nextMessage()).toBe(`44/${key},{"message":"Invalid namespace"}`);
      }
      ws.sendText("40/constructor,");
      expect(await ws.nextMessage()).toMatch(/^40\/constructor,\{"sid":"/);
      ws.sendText('42/constructor,1["echo","in /constructor"]');
      expect(await ws.nextMessage()).toBe('43/constructor,1["in /constructor"]');
    });
    expect([...handle.io._nsps.keys()]).toEqual(names);
  });

  it("in CONNECT auth and event payloads, binary placeholders included: plain own properties", async () => {
    const handle = await echoServer();
    const received: unknown[] = [];
    let auth: Record<string, unknown> = {};
    handle.io.on("connection", (socket) => {
      auth = socket.handshake.auth;
      socket.on("data", (...args: unknown[]) => received.push(args));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.open(handle.port);
      await ws.next();
      ws.sendText('40{"__proto__":{"polluted":"auth"},"constructor":{"prototype":{"polluted":"auth"}},"token":"t"}');
      await ws.nextMessage();
      ws.sendText('42["data",{"__proto__":{"polluted":"event"}},{"constructor":{"prototype":{"polluted":"event"}}}]');
      ws.sendText('451-["data",{"__proto__":{"_placeholder":true,"num":0}},[{"__proto__":{"_placeholder":true,"num":0}}]]');
      ws.sendBinary(Buffer.from([7]));
      ws.sendText('421["echo","done"]');
      expect(await ws.nextMessage()).toBe('431["done"]');
    });
    expect(Object.getPrototypeOf(auth)).toBe(Object.prototype);
    expect(Object.keys(auth)).toEqual(["__proto__", "constructor", "token"]);
    expect((auth as any).polluted).toBeUndefined();
    const [plain, binary] = received as [any[], any[]];
    expect(Object.getPrototypeOf(plain[0])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(plain[0], "__proto__")?.value).toEqual({ polluted: "event" });
    expect(Object.getPrototypeOf(binary[0])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(binary[0], "__proto__")?.value).toEqual(Buffer.from([7]));
    expect(Object.getOwnPropertyDescriptor(binary[1][0], "__proto__")?.value).toEqual(Buffer.from([7]));
  });

  it("as event names: delivered to listeners of that name, ignored without one", async () => {
    const handle = await echoServer();
    const got: string[] = [];
    handle.io.of("/victim").on("connection", (socket) => {
      socket.on("constructor", (v: string) => got.push(`constructor:${v}`));
      socket.on("__proto__", (v: string) => got.push(`__proto__:${v}`));
      socket.onAny((event: string) => got.push(`any:${event}`));
      socket.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v));
    });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const ws = await RawWebSocket.socketIo(handle.port, "/victim");
      for (const key of PROTO_KEYS) ws.sendText(`42/victim,["${key}","x"]`);
      ws.sendText('42/victim,1["echo","after"]');
      expect(await ws.nextMessage()).toBe('43/victim,1["after"]');
    });
    expect(got).toEqual([
      "any:__proto__",
      "__proto__:x",
      "any:constructor",
      "constructor:x",
      ...PROTO_KEYS.slice(2).map((k) => `any:${k}`),
      "any:echo",
    ]);
  });

  it("as recovery pid/offset and in an EIO3 namespace query: no session restored, auth is plain data", async () => {
    const handle = await echoServer({ connectionStateRecovery: {}, allowEIO3: true });
    const sockets: any[] = [];
    handle.io.on("connection", (s) => sockets.push(s));
    handle.io.of("/admin").on("connection", (s) => sockets.push(s));
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const v4 = await RawWebSocket.open(handle.port);
      await v4.next();
      v4.sendText('40{"pid":"__proto__","offset":"constructor"}');
      expect(await v4.nextMessage()).toMatch(/^40\{"sid":"[^"]+","pid":"[^"]+"\}$/);

      const v3 = await RawWebSocket.open(handle.port, "/socket.io/?EIO=3&transport=websocket");
      expect(await v3.next()).toMatch(/^0\{/);
      expect(await v3.next()).toBe("40");
      v3.sendText("40/admin?__proto__=polluted&constructor=x&toString=y,");
      expect(await v3.next()).toBe("40/admin,");
    });
    const [, v4socket, , v3admin] = sockets;
    expect(v4socket.recovered).toBe(false);
    const auth = v3admin.handshake.auth;
    expect(Object.getPrototypeOf(auth)).toBe(null);
    expect({ ...auth }).toEqual({ ["__proto__"]: "polluted", constructor: "x", toString: "y" });
  });

  it("fuzzed payloads full of prototype keys never modify a prototype", async () => {
    const handle = await echoServer();
    handle.io.on("connection", (socket) => socket.onAny(() => {}));
    const ws = await RawWebSocket.socketIo(handle.port);
    const key = fc.constantFrom(...PROTO_KEYS, "polluted", "_placeholder", "num");
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom<unknown>(true, 0, "polluted", null),
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(key, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(key, fc.array(value, { maxLength: 3 }), async (event, args) => {
        // JSON.stringify drops an own "__proto__" only when it was set through the setter;
        // dictionary() defines it as an own property, so it is on the wire.
        ws.sendText(`42${JSON.stringify([event, ...args])}`);
        ws.sendText(`42${++n}["echo",${n}]`);
        expect(await withTimeout(ws.nextMessage(), 3000, "the echo")).toBe(`43${n}[${n}]`);
        expect(snapshot()).toEqual(before);
      }),
      { numRuns: 100 },
    );
    expect(await pollingHandshake(handle.port)).toHaveLength(20);
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        for (const key of PROTO_KEYS) {
          await fetchText(handle.port, `/socket.io/?EIO=4&transport=${key}`);
          const ws = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&${key}=1`);
          await ws.next();
          ws.sendText(`40{"${key}":{"polluted":1}}`);
          await ws.nextMessage();
          ws.sendText(`42["${key}",{"${key}":{"polluted":1}}]`);
          ws.sendText(`40/${key},`);
          await ws.nextMessage();
          ws.reset();
          await ws.closed;
        }
      },
      { minTracked: PROTO_KEYS.length * 3 },
    );
  });
});
