/**
 * Per-connection state that is created late or only when needed: the
 * sockets of a connection (one namespace, then several), binary packets
 * being reassembled, custom parsers, the handshake, `socket.data` and the
 * socket's listener table. Each must behave as if it existed from the start.
 */
import { Socket as EngineSocket } from "engine.io-client";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { Decoder, Encoder } from "../../../src/io/protocol/index.js";
import * as tidewireParser from "../../../src/io/protocol/index.js";
import {
  nextMessage,
  closeAll,
  connectClient,
  connectPair,
  createIoServer,
  createManager,
  onClose,
  transportsFor,
  waitFor,
  type IoServerHandle,
  type TransportMode,
} from "../../helpers/io.js";
import { captureUncaught, releaseUncaught } from "../../helpers/uncaught.js";

const require = createRequire(import.meta.url);
const referenceParser = require("socket.io-parser");

afterEach(closeAll);

const RAW_MODES: readonly TransportMode[] = ["polling", "websocket"];

async function rawClient(handle: IoServerHandle, mode: TransportMode): Promise<EngineSocket> {
  const socket = new EngineSocket(handle.url, { path: "/socket.io/", transports: transportsFor(mode) as any });
  onClose(() => {
    socket.close();
  });
  await waitFor(socket, "open");
  return socket;
}

/** Sends CONNECT for `nsp` and waits for both the reply and the server-side socket. */
async function rawJoin(handle: IoServerHandle, raw: EngineSocket, nsp: string): Promise<any> {
  const connected = waitFor(handle.io.of(nsp), "connection");
  const reply = nextMessage(raw, nsp === "/" ? "0{" : `0${nsp},`);
  raw.send(nsp === "/" ? "0" : `0${nsp},`);
  await reply;
  const [socket] = await connected;
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(RAW_MODES)("sockets of one connection (%s)", { timeout: 10000 }, (mode) => {
  it("client.sockets: one namespace, then a second; a live map in join order", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const first = await rawJoin(handle, raw, "/");
    const map = first.client.sockets;
    expect([...map.entries()]).toEqual([[first.id, first]]);
    const second = await rawJoin(handle, raw, "/second");
    expect(second.client).toBe(first.client);
    expect(first.client.sockets).toBe(map);
    expect([...map.values()]).toEqual([first, second]);
    const gone = waitFor(first, "disconnect");
    raw.send("1");
    expect((await gone)[0]).toBe("client namespace disconnect");
    expect([...map.values()]).toEqual([second]);
    const got = waitFor(second, "still");
    raw.send('2/second,["still",1]');
    expect(await got).toEqual([1]);
  });

  it("client.sockets read only after a second namespace joined holds both, first one first", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const first = await rawJoin(handle, raw, "/one");
    const second = await rawJoin(handle, raw, "/two");
    expect([...first.client.sockets.keys()]).toEqual([first.id, second.id]);
    // packets still go to the socket of their namespace
    const atFirst = waitFor(first, "where");
    const atSecond = waitFor(second, "where");
    raw.send('2/two,["where","two"]');
    raw.send('2/one,["where","one"]');
    expect(await atFirst).toEqual(["one"]);
    expect(await atSecond).toEqual(["two"]);
  });

  it("the only namespace left and joined again, client.sockets never read", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const first = await rawJoin(handle, raw, "/");
    const gone = waitFor(first, "disconnect");
    raw.send("1");
    await gone;
    // a packet for the namespace just left closes the connection
    const again = await rawJoin(handle, raw, "/");
    expect(again.id).not.toBe(first.id);
    const got = waitFor(again, "hi");
    raw.send('2["hi"]');
    expect(await got).toEqual([]);
    expect([...again.client.sockets.values()]).toEqual([again]);
  });

  it("a CONNECT repeated before the first one is answered: two sockets, the later one gets the packets, both close with the connection", async () => {
    const handle = await createIoServer();
    handle.io.use((_socket, next) => setTimeout(next, 50));
    const sockets: any[] = [];
    handle.io.on("connection", (s) => sockets.push(s));
    const raw = await rawClient(handle, mode);
    raw.send("0");
    raw.send("0");
    const deadline = Date.now() + 3000;
    while (sockets.length < 2 && Date.now() < deadline) await sleep(10);
    expect(sockets).toHaveLength(2);
    const [a, b] = sockets;
    expect(a.client).toBe(b.client);
    const gotA: unknown[] = [];
    a.on("ev", (v: unknown) => gotA.push(v));
    const atB = waitFor(b, "ev");
    raw.send('2["ev",1]');
    expect(await atB).toEqual([1]);
    expect(gotA).toEqual([]);
    const closedA = waitFor(a, "disconnect");
    const closedB = waitFor(b, "disconnect");
    raw.close();
    expect((await closedA)[0]).toBe("transport close");
    expect((await closedB)[0]).toBe("transport close");
    expect(handle.io.sockets.sockets.size).toBe(0);
  });

  it("binary packets back to back, several attachments each, on two namespaces, then text; and a binary ack", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const main = await rawJoin(handle, raw, "/");
    const other = await rawJoin(handle, raw, "/b");
    const atMain = waitFor(main, "up");
    const atOther = waitFor(other, "up");
    const atText = waitFor(main, "text");
    raw.send('53-["up",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}],{"x":{"_placeholder":true,"num":2}}]');
    raw.send(Buffer.from([1]) as any);
    raw.send(Buffer.from([2, 2]) as any);
    raw.send(Buffer.from([3, 3, 3]) as any);
    raw.send('51-/b,["up",{"_placeholder":true,"num":0}]');
    raw.send(Buffer.from([4]) as any);
    raw.send('2["text","plain"]');
    const [a, b, c] = await atMain;
    expect([...a]).toEqual([1]);
    expect([...b[0]]).toEqual([2, 2]);
    expect([...c.x]).toEqual([3, 3, 3]);
    const [d] = await atOther;
    expect([...d]).toEqual([4]);
    expect(await atText).toEqual(["plain"]);

    const question = nextMessage(raw, "2/b,");
    const answer = new Promise<unknown[]>((resolve) => other.emit("q", (...args: unknown[]) => resolve(args)));
    const sent = await question;
    const id = /^2\/b,(\d+)\[/.exec(sent)![1];
    raw.send(`61-/b,${id}[{"_placeholder":true,"num":0},"s"]`);
    raw.send(Buffer.from([9, 8]) as any);
    const [buf, s] = await answer;
    expect([...(buf as Buffer)]).toEqual([9, 8]);
    expect(s).toBe("s");
  });

  it("an exception thrown by an event listener reaches uncaughtException; the sockets stay", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const main = await rawJoin(handle, raw, "/");
    const other = await rawJoin(handle, raw, "/b");
    const boom = new Error("boom");
    main.on("explode", () => {
      throw boom;
    });
    other.on("ping", (ack: (v: string) => void) => ack("pong"));
    const errors: unknown[] = [];
    main.on("error", (err: unknown) => errors.push(err));
    other.on("error", (err: unknown) => errors.push(err));
    const uncaught = captureUncaught();
    try {
      raw.send('2["explode"]');
      expect((await uncaught.next()).error).toBe(boom);
    } finally {
      releaseUncaught();
    }
    const answer = nextMessage(raw, "3/b,");
    raw.send('2/b,7["ping"]');
    expect(await answer).toBe('3/b,7["pong"]');
    expect(errors).toEqual([]);
    expect(main.connected && other.connected).toBe(true);
  });

  it("a binary packet whose placeholders do not match its attachments closes the connection", async () => {
    const handle = await createIoServer();
    const raw = await rawClient(handle, mode);
    const main = await rawJoin(handle, raw, "/");
    const errors: unknown[] = [];
    main.on("error", (err: unknown) => errors.push(err));
    const closed = waitFor(raw, "close");
    raw.send('52-["x",{"_placeholder":true,"num":5}]');
    raw.send(Buffer.from([1]) as any);
    raw.send(Buffer.from([2]) as any);
    await closed;
    expect(errors).toHaveLength(1);
  });
});

describe("custom parsers", { timeout: 10000 }, () => {
  async function roundTrip(parser: any) {
    const handle = await createIoServer({ parser });
    handle.io.on("connection", (s) => s.on("echo", (...args: any[]) => args.pop()(...args)));
    const { client } = await connectPair(handle, "websocket", { parser });
    const [err, text, bin] = await new Promise<any[]>((resolve) =>
      client.timeout(3000).emit("echo", { a: [1, "x"] }, Buffer.from([7, 7]), (...args: any[]) => resolve(args)),
    );
    expect(err).toBeNull();
    expect(text).toEqual({ a: [1, "x"] });
    expect([...new Uint8Array(bin)]).toEqual([7, 7]);
  }

  it("socket.io-parser (a Decoder of its own) carries events, acks and binary", async () => {
    await roundTrip(referenceParser);
  });

  it("a module with a subclass of tidewire's Decoder uses that Decoder", async () => {
    let added = 0;
    class CountingDecoder extends Decoder {
      override add(chunk: any): void {
        added++;
        super.add(chunk);
      }
    }
    await roundTrip({ Encoder, Decoder: CountingDecoder });
    // CONNECT, the event header and its attachment at least
    expect(added).toBeGreaterThanOrEqual(3);
  });

  it("tidewire's own parser module passed explicitly", async () => {
    await roundTrip(tidewireParser);
  });
});

describe("state built on first use", { timeout: 10000 }, () => {
  it("handshake: values of the connection time, one object, assignable; auth {} when none was sent", async () => {
    const handle = await createIoServer();
    const before = Date.now();
    const { socket } = await connectPair(handle, "websocket", { query: { q: "1" } });
    const after = Date.now();
    await sleep(30);
    const handshake = socket.handshake;
    expect(socket.handshake).toBe(handshake);
    expect(handshake.issued).toBeGreaterThanOrEqual(before);
    expect(handshake.issued).toBeLessThanOrEqual(after);
    expect(handshake.time).toBe(new Date(handshake.issued).toString());
    expect(handshake.query.q).toBe("1");
    expect(handshake.url).toContain("q=1");
    expect(handshake.address).toMatch(/127\.0\.0\.1/);
    expect(handshake.auth).toEqual({});
    handshake.auth.user = "u";
    expect(socket.handshake.auth.user).toBe("u");
    const replacement = { ...handshake, auth: { other: true } };
    socket.handshake = replacement;
    expect(socket.handshake).toBe(replacement);

    const second = await connectPair(handle, "websocket");
    expect(second.socket.handshake.auth).toEqual({});
    expect(second.socket.handshake.auth).not.toBe(handshake.auth);
  });

  it("handshake.auth is the CONNECT payload, and the object a middleware or a namespace matcher changed", async () => {
    const handle = await createIoServer();
    handle.io.use((socket, next) => {
      socket.handshake.auth.byMiddleware = true;
      next();
    });
    const withAuth = await connectPair(handle, "websocket", { auth: { token: "t" } });
    expect(withAuth.socket.handshake.auth).toEqual({ token: "t", byMiddleware: true });

    const parent = handle.io.of((name, auth, next) => {
      auth.byMatcher = name;
      next(null, name.startsWith("/dyn-"));
    });
    // not through io.of("/dyn-1"), which would create the child before the CONNECT
    const connected = waitFor(parent, "connection");
    await connectClient(handle, "websocket", {}, "/dyn-1");
    const [socket] = await connected;
    expect(socket.nsp.name).toBe("/dyn-1");
    expect(socket.handshake.auth).toEqual({ byMatcher: "/dyn-1" });
  });

  it("socket.data: {} on first read, the same object after, assignable, seen by fetchSockets()", async () => {
    const handle = await createIoServer();
    const { socket } = await connectPair(handle, "websocket");
    const data = socket.data;
    expect(data).toEqual({});
    expect(socket.data).toBe(data);
    socket.data.n = 1;
    expect((await handle.io.fetchSockets())[0]!.data).toEqual({ n: 1 });
    socket.data = { replaced: true };
    expect((await handle.io.fetchSockets())[0]!.data).toEqual({ replaced: true });
  });

  it("listener table: inherits nothing; events named like Object.prototype members are delivered", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, "websocket");
    expect(socket._events.toString).toBeUndefined();
    expect(socket.eventNames()).toEqual([]);
    const got: string[] = [];
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) socket.on(name, () => got.push(name));
    const done = waitFor(socket, "done");
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "done"]) client.emit(name);
    await done;
    expect(got).toEqual(["__proto__", "constructor", "toString", "hasOwnProperty"]);
    expect(socket.eventNames()).toEqual(["__proto__", "constructor", "toString", "hasOwnProperty"]);
    const listener = () => {};
    socket.on("x", listener);
    socket.off("x", listener);
    socket.off("constructor", socket.listeners("constructor")[0]);
    expect(socket.eventNames()).toEqual(["__proto__", "toString", "hasOwnProperty"]);
    socket.removeAllListeners();
    expect(socket.eventNames()).toEqual([]);
  });
});
