/**
 * Connection middleware (io.use / nsp.use) and per-event socket middleware
 * (socket.use): order, refusal with message and data, room cleanup on
 * refusal, and the socket `error` event.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  barrier,
  closeAll,
  connectClient,
  connectPair,
  createClient,
  createIoServer,
  createManager,
  MODES,
  recordEvents,
  waitFor,
} from "../../helpers/io.js";

afterEach(closeAll);

describe.each(MODES)("connection middleware (%s)", { timeout: 10000 }, (mode) => {
  it("io.use middlewares run in order before the connection event, socket not yet connected", async () => {
    const handle = await createIoServer();
    const order: string[] = [];
    handle.io.use((socket, next) => {
      order.push(`first:${socket.connected}`);
      socket.data.first = true;
      next();
    });
    handle.io.use((socket, next) => {
      order.push(`second:${socket.data.first}`);
      // an asynchronous middleware
      setImmediate(() => next());
    });
    handle.io.on("connection", (socket) => order.push(`connection:${socket.connected}`));
    await connectClient(handle, mode);
    expect(order).toEqual(["first:false", "second:true", "connection:true"]);
  });

  it("nsp.use applies to its namespace only; io.use only to the main namespace", async () => {
    const handle = await createIoServer();
    const calls: string[] = [];
    handle.io.use((_s, next) => {
      calls.push("io");
      next();
    });
    handle.io.of("/admin").use((_s, next) => {
      calls.push("admin");
      next();
    });
    handle.io.of("/other");
    await connectClient(handle, mode, {}, "/admin");
    await connectClient(handle, mode, {}, "/other");
    expect(calls).toEqual(["admin"]);
    await connectClient(handle, mode);
    expect(calls).toEqual(["admin", "io"]);
  });

  it("next(err) with data gives the client a connect_error with message and data; later middleware is skipped", async () => {
    const handle = await createIoServer();
    let laterCalled = false;
    let connections = 0;
    handle.io.use((_socket, next) => {
      const err: Error & { data?: unknown } = new Error("not authorized");
      err.data = { reason: "token expired", retry: false, codes: [1, 2] };
      next(err);
    });
    handle.io.use((_socket, next) => {
      laterCalled = true;
      next();
    });
    handle.io.on("connection", () => connections++);
    const client = createClient(handle, mode);
    const [err] = await waitFor(client, "connect_error");
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("not authorized");
    expect(err.data).toEqual({ reason: "token expired", retry: false, codes: [1, 2] });
    expect(client.connected).toBe(false);
    expect(laterCalled).toBe(false);
    expect(connections).toBe(0);
    expect(handle.io.sockets.sockets.size).toBe(0);
  });

  it("next(err) without data: the client error has no data", async () => {
    const handle = await createIoServer();
    handle.io.of("/secure").use((_socket, next) => next(new Error("nope")));
    const client = createClient(handle, mode, {}, "/secure");
    const [err] = await waitFor(client, "connect_error");
    expect(err.message).toBe("nope");
    expect(err.data).toBeUndefined();
  });

  it("a refusal keeps the connection usable for other namespaces", async () => {
    const handle = await createIoServer();
    handle.io.of("/secure").use((_socket, next) => next(new Error("denied")));
    handle.io.on("connection", (s) => s.on("ping", (cb: (v: string) => void) => cb("pong")));
    const manager = createManager(handle, mode);
    const secure = manager.socket("/secure");
    secure.connect();
    const [err] = await waitFor(secure, "connect_error");
    expect(err.message).toBe("denied");
    const main = manager.socket("/");
    main.connect();
    await waitFor(main, "connect");
    expect(await main.timeout(3000).emitWithAck("ping")).toBe("pong");
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("rooms joined in a refusing middleware are left; rooms joined in an accepting one are kept", async () => {
    const handle = await createIoServer();
    const adapter = handle.io.of("/").adapter;
    let refuse = true;
    let refusedId: string | undefined;
    handle.io.use((socket, next) => {
      socket.join(["mw-room", "mw-other"]);
      if (refuse) {
        refusedId = socket.id;
        next(new Error("refused"));
      } else next();
    });
    const client = createClient(handle, mode);
    await waitFor(client, "connect_error");
    expect(refusedId).toBeDefined();
    expect(adapter.rooms.has("mw-room")).toBe(false);
    expect(adapter.rooms.has("mw-other")).toBe(false);
    expect(adapter.rooms.has(refusedId!)).toBe(false);
    expect(adapter.sids.has(refusedId!)).toBe(false);

    refuse = false;
    const { socket } = await connectPair(handle, mode);
    expect([...socket.rooms].sort()).toEqual([socket.id, "mw-other", "mw-room"].sort());
    expect(adapter.rooms.get("mw-room")).toEqual(new Set([socket.id]));
  });

  it("the auth payload is visible to middleware", async () => {
    const handle = await createIoServer();
    handle.io.use((socket, next) => {
      if (socket.handshake.auth.token === "s3cret") next();
      else next(new Error("bad token"));
    });
    const bad = createClient(handle, mode, { auth: { token: "wrong" } });
    expect((await waitFor(bad, "connect_error"))[0].message).toBe("bad token");
    const good = await connectClient(handle, mode, { auth: { token: "s3cret" } });
    expect(good.connected).toBe(true);
  });
});

describe.each(MODES)("socket middleware (%s)", { timeout: 10000 }, (mode) => {
  it("socket.use runs for each incoming event, in order, and may alter the arguments", async () => {
    const handle = await createIoServer();
    const seen: string[] = [];
    handle.io.on("connection", (socket) => {
      socket.use((packet, next) => {
        seen.push(`one:${packet[0]}`);
        next();
      });
      socket.use((packet, next) => {
        seen.push(`two:${packet[0]}`);
        if (packet[0] === "double") packet[1] = packet[1] * 2;
        setImmediate(next);
      });
      socket.on("double", (n: number, cb: (v: number) => void) => cb(n));
    });
    const client = await connectClient(handle, mode);
    expect(await client.timeout(3000).emitWithAck("double", 21)).toBe(42);
    expect(seen).toEqual(["one:double", "two:double"]);
  });

  it("next(err) drops the event and emits error on the server socket", async () => {
    const handle = await createIoServer();
    const received: string[] = [];
    const errors: Error[] = [];
    const connection = waitFor(handle.io, "connection");
    const client = await connectClient(handle, mode);
    const [socket] = await connection;
    socket.use(([event]: [string], next: (err?: Error) => void) => {
      if (event === "forbidden") next(new Error(`event ${event} is not allowed`));
      else next();
    });
    socket.on("error", (err: Error) => errors.push(err));
    socket.on("forbidden", () => received.push("forbidden"));
    socket.on("allowed", (cb: () => void) => {
      received.push("allowed");
      cb();
    });
    const errored = waitFor(socket, "error");
    client.emit("forbidden");
    await errored;
    await client.timeout(3000).emitWithAck("allowed");
    expect(received).toEqual(["allowed"]);
    expect(errors.map((e) => e.message)).toEqual(["event forbidden is not allowed"]);
    expect(socket.connected).toBe(true);
    expect(client.connected).toBe(true);
  });

  it("a middleware error on a socket without an error listener does not crash anything", async () => {
    const handle = await createIoServer();
    const pair = await connectPair(handle, mode);
    pair.socket.use(([event]: [string], next: (err?: Error) => void) => next(event === "bad" ? new Error("bad event") : undefined));
    pair.socket.on("good", (cb: (v: string) => void) => cb("fine"));
    pair.client.emit("bad");
    expect(await pair.client.timeout(3000).emitWithAck("good")).toBe("fine");
    expect(pair.socket.connected).toBe(true);
  });

  it("an error from socket middleware does not reach the client", async () => {
    const handle = await createIoServer();
    const pair = await connectPair(handle, mode);
    pair.socket.use((_packet: unknown[], next: (err?: Error) => void) => next(new Error("blocked")));
    pair.socket.on("error", () => undefined);
    const clientEvents = recordEvents(pair.client);
    pair.client.on("connect_error", () => clientEvents.push(["connect_error"]));
    const errored = waitFor(pair.socket, "error");
    pair.client.emit("anything", 1);
    await errored;
    await barrier([pair]);
    expect(clientEvents).toEqual([]);
    expect(pair.client.connected).toBe(true);
  });
});
