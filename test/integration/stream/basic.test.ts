import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient } from "socket.io-client";
import {
  DEFAULT_STREAM_OPTIONS,
  isStreamEvent,
  StreamErrorCodes,
  streams,
  STREAM_EVENT_PREFIX,
} from "../../../src/stream/index.js";
import { closeAll, collect, connectPair, onClose, randomSource, rejectionOf, waitFor, withTimeout, type TransportMode } from "./helpers.js";

afterEach(closeAll);

describe.each<TransportMode>(["websocket", "polling"])("tidewire/stream basics over %s", (transport) => {
  it("sends a stream server → client with its arguments", async () => {
    const { server, client } = await connectPair({ transports: [transport] });
    const received = new Promise<{ data: Buffer; args: unknown[] }>((resolve, reject) => {
      streams(client).on("file", (stream, ...args) => {
        collect(stream).then((data) => resolve({ data, args }), reject);
      });
    });
    const payload = Buffer.from("hello, streams ".repeat(10_000));
    const bytes = await streams(server).emit("file", Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]), { name: "a.txt" }, 42);
    expect(bytes).toBe(payload.length);
    const { data, args } = await received;
    expect(data.equals(payload)).toBe(true);
    expect(args).toEqual([{ name: "a.txt" }, 42]);
  });

  it("sends a stream client → server, binary arguments included", async () => {
    const { server, client } = await connectPair({ transports: [transport] });
    const received = new Promise<{ data: Buffer; args: unknown[] }>((resolve, reject) => {
      streams(server).on("upload", (stream, ...args) => {
        collect(stream).then((data) => resolve({ data, args }), reject);
      });
    });
    const source = randomSource(3 * 1024 * 1024 + 17);
    await streams(client).emit("upload", source, Buffer.from([1, 2, 3]), "name");
    const { data, args } = await received;
    expect(data.length).toBe(3 * 1024 * 1024 + 17);
    expect((await import("node:crypto")).createHash("sha256").update(data).digest("hex")).toBe(source.digest());
    expect(Buffer.from(args[0] as Buffer)).toEqual(Buffer.from([1, 2, 3]));
    expect(args[1]).toBe("name");
  });
});

describe("tidewire/stream API", () => {
  it("streams(socket) returns one channel per socket; options only on the first call", async () => {
    const { server } = await connectPair();
    const channel = streams(server, { window: 4096 });
    expect(streams(server)).toBe(channel);
    expect(channel.options).toEqual({ ...DEFAULT_STREAM_OPTIONS, window: 4096 });
    expect(() => streams(server, { window: 8192 })).toThrow(/pass options on the first call only/);
  });

  it("rejects invalid sockets and options with clear errors", async () => {
    const { server } = await connectPair();
    expect(() => streams({} as any)).toThrow(TypeError);
    expect(() => streams(null as any)).toThrow(/must be a Socket.IO socket/);
    expect(() => streams(server, { window: 0 })).toThrow(/"window" must be an integer from 1/);
    expect(() => streams(server, { chunkSize: 1.5 })).toThrow(/"chunkSize"/);
    expect(() => streams(server, { maxIncomingStreams: "3" as any })).toThrow(/"maxIncomingStreams".*got "3"/);
    expect(() => streams(server, { openTimeout: -1 })).toThrow(/"openTimeout"/);
    expect(() => streams(server, { windw: 1 } as any)).toThrow(/unknown option "windw"/);
    expect(() => streams(server, 5 as any)).toThrow(/options must be an object/);
  });

  it("emit() and on() reject programmer errors synchronously", async () => {
    const { server } = await connectPair();
    const s = streams(server);
    expect(() => s.emit(1 as any, randomSource(1))).toThrow(/event must be a string/);
    expect(() => s.emit("x", Buffer.from("no") as any)).toThrow(/must be a Node.js Readable/);
    expect(() => s.emit("x", randomSource(1), () => {})).toThrow(/no acknowledgement callback/);
    expect(() => s.on("x", "nope" as any)).toThrow(/listener must be a function/);
  });

  it.each(["server", "client"] as const)(
    "arguments the %s socket cannot serialize reject emit() at once with the socket's error",
    async (side) => {
      const pair = await connectPair();
      const socket = pair[side];
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const source = randomSource(10);
      const err = await rejectionOf(streams(socket).emit("x", source, circular), 1000);
      // the socket's own error (wording differs by implementation), not a timeout
      expect(err).toBeInstanceOf(Error);
      expect(err.message).not.toMatch(/timed out/);
      expect(err.code).not.toBe(StreamErrorCodes.OPEN_TIMEOUT);
      expect(source.destroyed).toBe(true);
      expect(streams(socket).outgoingCount).toBe(0);
    },
  );

  it("on/once/off manage listeners; once fires for one stream only", async () => {
    const { server, client } = await connectPair();
    const seen: string[] = [];
    const a = (stream: Readable) => {
      seen.push("a");
      stream.resume();
    };
    const b = (stream: Readable) => {
      seen.push("b");
      stream.resume();
    };
    streams(server).once("e", a).on("e", b);
    expect(streams(server).listenerCount("e")).toBe(2);
    await streams(client).emit("e", randomSource(10));
    await streams(client).emit("e", randomSource(10));
    expect(seen).toEqual(["a", "b", "b"]);
    streams(server).off("e", b);
    expect(streams(server).listenerCount("e")).toBe(0);
    expect(((await rejectionOf(streams(client).emit("e", randomSource(10)))) as any).code).toBe(StreamErrorCodes.NO_LISTENER);
  });

  it("control events carry one reserved prefix, recognisable in catch-all listeners", async () => {
    const { server, client } = await connectPair();
    const names = new Set<string>();
    client.onAny((event: string) => names.add(event));
    streams(client).on("x", (s) => {
      s.resume();
    });
    await streams(server).emit("x", randomSource(100));
    expect([...names].every((n) => n.startsWith(STREAM_EVENT_PREFIX) && isStreamEvent(n))).toBe(true);
    expect(names.size).toBeGreaterThan(0);
    expect(isStreamEvent("x")).toBe(false);
    expect(isStreamEvent(42)).toBe(false);
  });

  it("a client may emit before it is connected: the stream starts once connected", async () => {
    const pair = await connectPair();
    const client = ioClient(pair.url, { forceNew: true, reconnection: false, transports: ["websocket"], autoConnect: false });
    onClose(() => {
      client.disconnect();
    });
    const received = new Promise<Buffer>((resolve, reject) =>
      pair.io.once("connection", (socket: any) => streams(socket).once("early", (s) => collect(s).then(resolve, reject))),
    );
    client.connect();
    const done = streams(client).emit("early", Readable.from([Buffer.from("before connect")]));
    expect(client.connected).toBe(false);
    await expect(withTimeout(done, 5000, "the early stream")).resolves.toBe(14);
    expect((await received).toString()).toBe("before connect");
  });

  it("a client channel keeps working across a reconnection", async () => {
    const pair = await connectPair({ reconnection: true });
    pair.client.io.reconnectionDelay(10);
    let echoed: Promise<number> = Promise.resolve(0);
    const serve = (socket: any) =>
      streams(socket).on("echo", (s) => {
        echoed = collect(s).then((data) => streams(socket).emit("back", Readable.from([data])));
      });
    serve(pair.server);
    pair.io.on("connection", serve);
    const roundTrip = async (text: string) => {
      const back = new Promise<Buffer>((resolve, reject) => streams(pair.client).once("back", (s) => collect(s).then(resolve, reject)));
      await streams(pair.client).emit("echo", Readable.from([Buffer.from(text)]));
      const result = (await withTimeout(back, 5000, "the echoed stream")).toString();
      expect(await echoed).toBe(text.length);
      return result;
    };
    expect(await roundTrip("first")).toBe("first");
    const reconnected = waitFor(pair.client, "connect");
    pair.server.conn.close(); // transport cut: the client reconnects to a new server socket
    await reconnected;
    expect(await roundTrip("second")).toBe("second");
    expect(await roundTrip("third")).toBe("third");
  });

  it("works with connection-state recovery, which appends offsets to server emits", async () => {
    const { server, client } = await connectPair({
      serverOptions: { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } },
    });
    const received = new Promise<Buffer>((resolve, reject) =>
      streams(client).once("csr", (s, meta) => {
        expect(meta).toEqual({ a: 1 });
        collect(s).then(resolve, reject);
      }),
    );
    const source = randomSource(2 * 1024 * 1024);
    await streams(server).emit("csr", source, { a: 1 });
    const data = await received;
    expect((await import("node:crypto")).createHash("sha256").update(data).digest("hex")).toBe(source.digest());
  });

  it("an already consumed source sends an empty stream", async () => {
    const { server, client } = await connectPair();
    const source = Readable.from([]);
    source.resume();
    await waitFor(source, "end");
    const received = new Promise<Buffer>((resolve, reject) => streams(client).once("empty", (s) => collect(s).then(resolve, reject)));
    await expect(streams(server).emit("empty", source)).resolves.toBe(0);
    expect((await received).length).toBe(0);
  });
});
