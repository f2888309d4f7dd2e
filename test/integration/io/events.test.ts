/**
 * Events in both directions: JSON values of every kind, binary attachments of
 * every kind (nested, several), numeric event names, send/message, catch-all
 * listeners (incoming and outgoing), reserved names, flags reset per emit.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  barrier,
  closeAll,
  connectPair,
  createIoServer,
  MODES,
  recordEvents,
  waitFor,
  waitForUpgrade,
} from "../../helpers/io.js";

afterEach(closeAll);

/** The bytes of any binary value (Buffer, ArrayBuffer, typed array, DataView). */
function bytes(value: unknown): number[] {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  throw new Error(`not binary: ${Object.prototype.toString.call(value)}`);
}

const JSON_VALUES: Array<[string, unknown]> = [
  ["empty string", ""],
  ["ascii string", "hello world"],
  ["unicode string", "héllo wörld — 你好 — 🎉🚀 — \u2028\u2029"],
  ["string with quotes and escapes", 'a"b\\c\nd\te\r\u0000f'],
  ["long string", "x".repeat(200_000)],
  ["zero", 0],
  ["negative", -42],
  ["float", 3.141592653589793],
  ["large number", 1e300],
  ["max safe integer", Number.MAX_SAFE_INTEGER],
  ["true", true],
  ["false", false],
  ["null", null],
  ["empty object", {}],
  ["empty array", []],
  ["nested", { a: [1, { b: [true, null, "s", { c: {} }] }], d: { e: { f: [[[]]] } } }],
  ["array of mixed", [1, "two", null, false, { three: 3 }, [4]]],
  ["object with many keys", Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]))],
  ["placeholder-looking object", { _placeholder: true, num: 0 }],
  ["__proto__ as data key", JSON.parse('{"__proto__": {"polluted": true}, "x": 1}')],
];

describe.each(MODES)("events (%s)", { timeout: 10000 }, (mode) => {
  it("server to client and client to server, several arguments", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const toServer = waitFor(socket, "from-client");
    client.emit("from-client", "a", 1, { b: 2 });
    expect(await toServer).toEqual(["a", 1, { b: 2 }]);
    const toClient = waitFor(client, "from-server");
    socket.emit("from-server", "c", 3, [4]);
    expect(await toClient).toEqual(["c", 3, [4]]);
    const noArgs = waitFor(client, "no-args");
    socket.emit("no-args");
    expect(await noArgs).toEqual([]);
  });

  it.each(JSON_VALUES)("round-trips JSON: %s", async (_label, value) => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    socket.on("echo", (v: unknown) => socket.emit("echoed", v));
    const echoed = waitFor(client, "echoed");
    client.emit("echo", value);
    const [back] = await echoed;
    expect(back).toEqual(value);
    if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__")) {
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(({} as any).polluted).toBeUndefined();
    }
  });

  it("applies JSON semantics: undefined/NaN/Infinity become null, Date becomes a string, toJSON is used", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const got = waitFor(client, "json");
    const date = new Date("2020-01-02T03:04:05.000Z");
    socket.emit("json", undefined, NaN, Infinity, date, { toJSON: () => "custom" }, { keep: 1, drop: undefined });
    expect(await got).toEqual([null, null, null, "2020-01-02T03:04:05.000Z", "custom", { keep: 1 }]);
  });

  it("server sends every kind of binary, top-level and nested", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const got = waitFor(client, "binary");
    const shared = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).buffer;
    socket.emit(
      "binary",
      Buffer.from([1, 2, 3]),
      new Uint8Array([4, 5]).buffer,
      new Uint8Array(shared, 2, 3),
      new Int16Array([1, -1]),
      new Float64Array([1.5]),
      new DataView(shared, 7, 3),
      { nested: { deep: [Buffer.from("abc"), "text", { more: new Uint32Array([0xdeadbeef]) }] } },
      [Buffer.alloc(0), Buffer.alloc(70_000, 7)],
    );
    const args = await got;
    expect(args).toHaveLength(8);
    expect(bytes(args[0])).toEqual([1, 2, 3]);
    expect(bytes(args[1])).toEqual([4, 5]);
    expect(bytes(args[2])).toEqual([2, 3, 4]);
    expect(bytes(args[3])).toEqual(bytes(new Int16Array([1, -1])));
    expect(bytes(args[4])).toEqual(bytes(new Float64Array([1.5])));
    expect(bytes(args[5])).toEqual([7, 8, 9]);
    expect(bytes(args[6].nested.deep[0])).toEqual([97, 98, 99]);
    expect(args[6].nested.deep[1]).toBe("text");
    expect(bytes(args[6].nested.deep[2].more)).toEqual(bytes(new Uint32Array([0xdeadbeef])));
    expect(bytes(args[7][0])).toEqual([]);
    expect(Buffer.from(bytes(args[7][1])).equals(Buffer.alloc(70_000, 7))).toBe(true);
  });

  it("client sends every kind of binary; the server gets Buffers in place", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const got = waitFor(socket, "binary");
    client.emit(
      "binary",
      new Uint8Array([1, 2, 3]),
      new Uint8Array([4, 5]).buffer,
      new Int32Array([-2]),
      new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
      { list: [Buffer.from("xyz"), { inner: new Uint8Array([42]) }], label: "files" },
    );
    const args = await got;
    expect(Buffer.isBuffer(args[0])).toBe(true);
    expect(bytes(args[0])).toEqual([1, 2, 3]);
    expect(bytes(args[1])).toEqual([4, 5]);
    expect(bytes(args[2])).toEqual(bytes(new Int32Array([-2])));
    expect(bytes(args[3])).toEqual([8, 7]);
    expect(args[4].label).toBe("files");
    expect(Buffer.from(bytes(args[4].list[0])).toString()).toBe("xyz");
    expect(bytes(args[4].list[1].inner)).toEqual([42]);
  });

  it("binary and text events keep their order", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const log = recordEvents(client);
    for (let i = 0; i < 20; i++) {
      if (i % 3 === 0) socket.emit("seq", i, Buffer.from([i]));
      else socket.emit("seq", i);
    }
    await barrier([{ client, socket }]);
    expect(log.map(([, i]) => i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(bytes(log[3][2])).toEqual([3]);
  });

  it("numeric event names in both directions", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const anyNames: unknown[] = [];
    socket.onAny((event: unknown) => anyNames.push(event));
    const atServer = waitFor(socket, "5");
    (client as any).emit(5, "five");
    expect(await atServer).toEqual(["five"]);
    expect(anyNames).toEqual([5]);
    const atClient = waitFor(client, "7");
    socket.emit(7 as any, "seven");
    expect(await atClient).toEqual(["seven"]);
  });

  it("send/write emit 'message' both ways", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const atServer = waitFor(socket, "message");
    client.send("hi", 1);
    expect(await atServer).toEqual(["hi", 1]);
    const log = recordEvents(client);
    socket.send("one");
    socket.write("two", 2);
    handle.io.send("three");
    handle.io.write("four");
    handle.io.sockets.send("five");
    await barrier([{ client, socket }]);
    expect(log).toEqual([["message", "one"], ["message", "two", 2], ["message", "three"], ["message", "four"], ["message", "five"]]);
  });

  it("a burst of events both ways arrives in order (during the upgrade, in upgrade mode)", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode, { waitUpgrade: false });
    const atServer: number[] = [];
    socket.on("n", (i: number) => atServer.push(i));
    socket.on("done", (cb: () => void) => cb());
    const log = recordEvents(client);
    for (let i = 0; i < 100; i++) {
      socket.emit("n", i);
      client.emit("n", i);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    if (mode === "upgrade") await waitForUpgrade(client);
    await client.timeout(3000).emitWithAck("done");
    await barrier([{ client, socket }]);
    expect(log.map(([, i]) => i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(atServer).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("'error' is an ordinary event name in both directions", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const atClient = waitFor(client, "error");
    socket.emit("error", "from server");
    expect(await atClient).toEqual(["from server"]);
    const atServer = waitFor(socket, "error");
    client.emit("error", "from client");
    expect(await atServer).toEqual(["from client"]);
  });
});

describe.each(MODES)("catch-all listeners (%s)", { timeout: 10000 }, (mode) => {
  it("onAny/prependAny/offAny/listenersAny for incoming events, before the event listeners", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const calls: string[] = [];
    const first = (ev: string, ...args: unknown[]) => calls.push(`first:${ev}:${JSON.stringify(args)}`);
    const second = (ev: string) => calls.push(`second:${ev}`);
    const prepended = (ev: string) => calls.push(`prepended:${ev}`);
    socket.onAny(first);
    socket.onAny(second);
    socket.prependAny(prepended);
    socket.on("evt", () => calls.push("listener"));
    socket.use((_p: unknown, next: () => void) => {
      calls.push("middleware");
      next();
    });
    expect(socket.listenersAny()).toEqual([prepended, first, second]);
    let got = waitFor(socket, "evt");
    client.emit("evt", 1, "a");
    await got;
    expect(calls).toEqual(['prepended:evt', 'first:evt:[1,"a"]', "second:evt", "middleware", "listener"]);

    calls.length = 0;
    socket.offAny(first);
    expect(socket.listenersAny()).toEqual([prepended, second]);
    got = waitFor(socket, "evt");
    client.emit("evt");
    await got;
    expect(calls).toEqual(["prepended:evt", "second:evt", "middleware", "listener"]);

    calls.length = 0;
    socket.offAny();
    expect(socket.listenersAny()).toEqual([]);
    got = waitFor(socket, "evt");
    client.emit("evt");
    await got;
    expect(calls).toEqual(["middleware", "listener"]);
  });

  it("onAny sees the ack callback as last argument", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const seen = new Promise<unknown[]>((resolve) => socket.onAny((...args: unknown[]) => resolve(args)));
    socket.on("ask", (x: number, cb: (v: number) => void) => cb(x + 1));
    const answer = client.timeout(3000).emitWithAck("ask", 1);
    const args = await seen;
    expect(args[0]).toBe("ask");
    expect(args[1]).toBe(1);
    expect(typeof args[2]).toBe("function");
    expect(await answer).toBe(2);
  });

  it("onAnyOutgoing family sees direct emits and broadcasts that reach the socket, binary included", async () => {
    const handle = await createIoServer();
    const a = await connectPair(handle, mode);
    const b = await connectPair(handle, mode);
    const outgoing: unknown[][] = [];
    const listener = (...args: unknown[]) => outgoing.push(args);
    const prepended = (...args: unknown[]) => outgoing.push(["prepended", ...args]);
    a.socket.onAnyOutgoing(listener);
    a.socket.prependAnyOutgoing(prepended);
    expect(a.socket.listenersAnyOutgoing()).toEqual([prepended, listener]);

    a.socket.emit("direct", 1);
    handle.io.emit("to-all", 2);
    b.socket.broadcast.emit("from-b", 3);
    a.socket.broadcast.emit("not-to-a", 4);
    handle.io.except(a.socket.id).emit("except-a", 5);
    a.socket.emit("bin", Buffer.from([1, 2]));
    await barrier([a, b]);
    const names = outgoing.filter((args) => args[0] !== "prepended" && args[0] !== "__barrier__");
    expect(names.map((args) => args[0])).toEqual(["direct", "to-all", "from-b", "bin"]);
    expect(names[0]).toEqual(["direct", 1]);
    expect(names[1]).toEqual(["to-all", 2]);
    expect(bytes(names[3][1])).toEqual([1, 2]);
    expect(outgoing[0]).toEqual(["prepended", "direct", 1]);

    outgoing.length = 0;
    a.socket.offAnyOutgoing(prepended);
    expect(a.socket.listenersAnyOutgoing()).toEqual([listener]);
    a.socket.offAnyOutgoing();
    expect(a.socket.listenersAnyOutgoing()).toEqual([]);
    a.socket.emit("after", 1);
    await barrier([a]);
    expect(outgoing).toEqual([]);
  });
});

describe("reserved event names", { timeout: 10000 }, () => {
  const RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

  it.each(RESERVED)("emitting %s throws with socket.io's message, on sockets and broadcasts", async (name) => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, "websocket");
    const log = recordEvents(client);
    const message = `"${name}" is a reserved event name`;
    expect(() => socket.emit(name)).toThrow(message);
    expect(() => socket.broadcast.emit(name)).toThrow(message);
    expect(() => socket.to("room").emit(name)).toThrow(message);
    expect(() => handle.io.emit(name)).toThrow(message);
    expect(() => handle.io.to("room").emit(name)).toThrow(message);
    expect(() => handle.io.of("/").emit(name)).toThrow(message);
    expect(() => handle.io.of("/other").except("x").emit(name)).toThrow(message);
    await barrier([{ client, socket }]);
    expect(log).toEqual([]);
  });
});

describe.each(MODES)("emit flags (%s)", { timeout: 10000 }, (mode) => {
  it("a timeout flag applies to one emit only", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    client.on("ask", (v: number, cb: (r: number) => void) => cb(v * 10));
    const withTimeout = new Promise<unknown[]>((resolve) => socket.timeout(2000).emit("ask", 1, (...args: unknown[]) => resolve(args)));
    const plain = new Promise<unknown[]>((resolve) => socket.emit("ask", 2, (...args: unknown[]) => resolve(args)));
    expect(await withTimeout).toEqual([null, 10]);
    expect(await plain).toEqual([20]);
  });

  it("volatile and compress(false) emits are delivered to a connected, idle client", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const log = recordEvents(client);
    socket.compress(false).emit("uncompressed", "x".repeat(5000));
    socket.emit("normal", 1);
    handle.io.compress(false).emit("bcast-uncompressed", 2);
    await barrier([{ client, socket }]);
    expect(log.map(([ev]) => ev)).toEqual(["uncompressed", "normal", "bcast-uncompressed"]);
    // volatile: dropped only when the transport cannot take it right now; a later normal emit always arrives
    socket.volatile.emit("volatile", 3);
    socket.emit("after-volatile", 4);
    await barrier([{ client, socket }]);
    const tail = log.slice(3).map(([ev]) => ev);
    expect(tail[tail.length - 1]).toBe("after-volatile");
    expect(tail.filter((ev) => ev === "after-volatile")).toHaveLength(1);
    expect(tail.filter((ev) => ev === "volatile").length).toBeLessThanOrEqual(1);
  });
});

describe("binary edge cases", { timeout: 10000 }, () => {
  it.each(MODES)("many attachments in one event (%s)", async (mode) => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const buffers = Array.from({ length: 10 }, (_, i) => Buffer.from([i, i + 1]));
    const atServer = waitFor(socket, "many");
    client.emit("many", ...buffers);
    const got = await atServer;
    expect(got.map(bytes)).toEqual(buffers.map(bytes));
    const atClient = waitFor(client, "many-back");
    socket.emit("many-back", { list: Array.from({ length: 10 }, (_, i) => Buffer.from([i])) });
    const [back] = await atClient;
    expect(back.list.map(bytes)).toEqual(Array.from({ length: 10 }, (_, i) => [i]));
  });

  it("a placeholder object inside a plain (non-binary) event is delivered as an ordinary object", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, "websocket");
    const atServer = waitFor(socket, "fake");
    client.emit("fake", { _placeholder: true, num: 0 });
    expect(await atServer).toEqual([{ _placeholder: true, num: 0 }]);
  });
});
