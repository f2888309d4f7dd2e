/**
 * Acknowledgements: client→server and server→client callbacks (each runs
 * once), emitWithAck, timeout(ms) with "operation has timed out", and
 * broadcast acks collecting one response per recipient with partial results
 * on timeout.
 */
import { afterEach, describe, expect, it } from "vitest";
import { barrier, closeAll, connectMany, connectPair, createIoServer, MODES, waitFor } from "../../helpers/io.js";
import { RemoteSocket } from "../../helpers/impl.js";

afterEach(closeAll);

const TIMEOUT_MESSAGE = "operation has timed out";

describe.each(MODES)("acks (%s)", { timeout: 10000 }, (mode) => {
  it("client→server: the server's callback answers the client's, with any arguments", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    socket.on("sum", (a: number, b: number, cb: (...r: unknown[]) => void) => cb(a + b, "done", { ok: true }));
    const answer = await new Promise<unknown[]>((resolve) => client.emit("sum", 2, 3, (...args: unknown[]) => resolve(args)));
    expect(answer).toEqual([5, "done", { ok: true }]);
    expect(await client.timeout(3000).emitWithAck("sum", 10, 20)).toBe(30);
  });

  it("client→server: calling the server callback twice answers once", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    let serverCb: ((v: string) => void) | undefined;
    const asked = waitFor(socket, "ask");
    let calls = 0;
    const answered = new Promise<string>((resolve) =>
      client.emit("ask", (v: string) => {
        calls++;
        resolve(v);
      }),
    );
    [serverCb] = (await asked) as [(v: string) => void];
    serverCb("first");
    serverCb("second");
    expect(await answered).toBe("first");
    await barrier([{ client, socket }]);
    expect(calls).toBe(1);
  });

  it("client→server: binary in the ack", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    socket.on("file", (name: string, cb: (...r: unknown[]) => void) => cb({ name, data: Buffer.from([1, 2, 3]) }, Buffer.from("x")));
    const [meta, extra] = await new Promise<any[]>((resolve) => client.emit("file", "a.bin", (...args: any[]) => resolve(args)));
    expect(meta.name).toBe("a.bin");
    expect([...meta.data]).toEqual([1, 2, 3]);
    expect(Buffer.from(extra).toString()).toBe("x");
  });

  it("server→client: the client's answer reaches the callback once, binary included", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    client.on("question", (q: string, cb: (...a: unknown[]) => void) => {
      cb(`answer to ${q}`, new Uint8Array([7, 8]));
      cb("again");
    });
    let calls = 0;
    const answer = await new Promise<any[]>((resolve) =>
      socket.emit("question", "life", (...args: any[]) => {
        calls++;
        resolve(args);
      }),
    );
    expect(answer[0]).toBe("answer to life");
    expect([...answer[1]]).toEqual([7, 8]);
    await barrier([{ client, socket }]);
    expect(calls).toBe(1);
  });

  it("server→client: emitWithAck resolves with the first argument", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    client.on("double", (n: number, cb: (a: number, b: string) => void) => cb(n * 2, "ignored"));
    expect(await socket.emitWithAck("double", 21)).toBe(42);
    expect(await socket.timeout(3000).emitWithAck("double", 4)).toBe(8);
  });

  it("server→client: timeout(ms) gives (null, ...args) on time and an Error after the deadline", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    client.on("fast", (cb: (...a: unknown[]) => void) => cb("a", "b"));
    const onTime = await new Promise<unknown[]>((resolve) => socket.timeout(3000).emit("fast", (...args: unknown[]) => resolve(args)));
    expect(onTime).toEqual([null, "a", "b"]);

    let lateCb: (() => void) | undefined;
    client.on("slow", (cb: () => void) => {
      lateCb = cb;
    });
    let calls = 0;
    const started = Date.now();
    const [err] = await new Promise<any[]>((resolve) =>
      socket.timeout(150).emit("slow", (...args: unknown[]) => {
        calls++;
        resolve(args);
      }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(TIMEOUT_MESSAGE);
    // a late answer is ignored
    expect(lateCb).toBeTypeOf("function");
    lateCb!();
    await socket.timeout(3000).emitWithAck("fast");
    expect(calls).toBe(1);
  });

  it("server→client: timeout().emitWithAck rejects with the timeout error", async () => {
    const handle = await createIoServer();
    const { socket } = await connectPair(handle, mode);
    await expect(socket.timeout(100).emitWithAck("nobody-answers")).rejects.toThrow(TIMEOUT_MESSAGE);
  });

  it("acks work in a custom namespace", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode, {}, "/admin");
    socket.on("ping", (cb: (v: string) => void) => cb("pong"));
    client.on("ping", (cb: (v: string) => void) => cb("pong from client"));
    expect(await client.timeout(3000).emitWithAck("ping")).toBe("pong");
    expect(await socket.timeout(3000).emitWithAck("ping")).toBe("pong from client");
  });

  it("many concurrent acks are matched to their own emits", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    socket.on("id", (n: number, cb: (v: number) => void) => setTimeout(() => cb(n), (n * 7) % 5));
    client.on("id", (n: number, cb: (v: number) => void) => setTimeout(() => cb(1000 + n), (n * 3) % 5));
    const ns = Array.from({ length: 50 }, (_, i) => i);
    const [fromServer, fromClient] = await Promise.all([
      Promise.all(ns.map((n) => client.timeout(3000).emitWithAck("id", n))),
      Promise.all(ns.map((n) => socket.timeout(3000).emitWithAck("id", n))),
    ]);
    expect(fromServer).toEqual(ns);
    expect(fromClient).toEqual(ns.map((n) => 1000 + n));
  });
});

describe.each(MODES)("broadcast acks (%s)", { timeout: 10000 }, (mode) => {
  it("io.timeout(ms).emit collects one response per client", async () => {
    const handle = await createIoServer();
    const { clients } = await connectMany(handle, mode, 3);
    clients.forEach((c, i) => c.on("vote", (cb: (v: number) => void) => cb(i)));
    const [err, responses] = await new Promise<any[]>((resolve) =>
      handle.io.timeout(3000).emit("vote", (...args: unknown[]) => resolve(args)),
    );
    expect(err).toBeNull();
    expect([...responses].sort()).toEqual([0, 1, 2]);
  });

  it("a broadcast ack times out with the responses that did arrive", async () => {
    const handle = await createIoServer();
    const { clients } = await connectMany(handle, mode, 3);
    clients[0].on("vote", (cb: (v: string) => void) => cb("a"));
    clients[1].on("vote", (cb: (v: string) => void) => cb("b"));
    clients[2].on("vote", () => undefined); // never answers
    let calls = 0;
    const [err, responses] = await new Promise<any[]>((resolve) =>
      handle.io.timeout(300).emit("vote", (...args: unknown[]) => {
        calls++;
        resolve(args);
      }),
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(TIMEOUT_MESSAGE);
    expect([...responses].sort()).toEqual(["a", "b"]);
    expect(calls).toBe(1);
  });

  it("io.timeout().emitWithAck resolves with the responses, or rejects with them on timeout", async () => {
    const handle = await createIoServer();
    const { clients } = await connectMany(handle, mode, 2);
    clients[0].on("q", (cb: (v: number) => void) => cb(1));
    clients[1].on("q", (cb: (v: number) => void) => cb(2));
    expect([...(await handle.io.timeout(3000).emitWithAck("q"))].sort()).toEqual([1, 2]);
    clients[1].off("q");
    clients[1].on("q", () => undefined);
    const err: any = await handle.io
      .timeout(200)
      .emitWithAck("q")
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(TIMEOUT_MESSAGE);
    expect(err.responses).toEqual([1]);
  });

  it("0 recipients gives an empty list", async () => {
    const handle = await createIoServer();
    await connectMany(handle, mode, 1);
    const [err, responses] = await new Promise<any[]>((resolve) =>
      handle.io.to("empty-room").timeout(1000).emit("q", (...args: unknown[]) => resolve(args)),
    );
    expect(err).toBeNull();
    expect(responses).toEqual([]);
    expect(await handle.io.to("empty-room").emitWithAck("q")).toEqual([]);
    expect(await handle.io.of("/empty-nsp").timeout(1000).emitWithAck("q")).toEqual([]);
  });

  it("rooms, except and socket.broadcast target the acks like the events", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, mode, 4);
    clients.forEach((c, i) => c.on("who", (cb: (v: number) => void) => cb(i)));
    sockets[0].join("r");
    sockets[1].join("r");
    sockets[2].join("r");
    sockets[2].join("x");
    const inRoom = await handle.io.to("r").except("x").timeout(3000).emitWithAck("who");
    expect([...inRoom].sort()).toEqual([0, 1]);
    const others = await sockets[0].broadcast.timeout(3000).emitWithAck("who");
    expect([...others].sort()).toEqual([1, 2, 3]);
    const roomFromSocket = await sockets[1].to("r").timeout(3000).emitWithAck("who");
    expect([...roomFromSocket].sort()).toEqual([0, 2]);
  });

  it("a single expected response (RemoteSocket): the answer, null when it times out, undefined when the socket is gone", async () => {
    const handle = await createIoServer();
    const { client, socket } = await connectPair(handle, mode);
    const adapter = handle.io.of("/").adapter;
    const details = { id: socket.id, handshake: socket.handshake, rooms: [...socket.rooms], data: {} };
    const remote = new RemoteSocket(adapter, details);
    client.on("q", (cb: (v: string) => void) => cb("yes"));
    client.on("silent", () => undefined);
    const ask = (op: any, event: string) => new Promise<unknown[]>((resolve) => op.emit(event, (...args: unknown[]) => resolve(args)));
    expect(await ask(remote.timeout(3000), "q")).toEqual([null, "yes"]);
    const [err, response, ...rest] = await ask(remote.timeout(200), "silent");
    expect((err as Error).message).toBe(TIMEOUT_MESSAGE);
    expect(response).toBeNull();
    expect(rest).toEqual([]);
    const rejected: any = await remote
      .timeout(200)
      .emitWithAck("silent")
      .catch((e: unknown) => e);
    expect(rejected.message).toBe(TIMEOUT_MESSAGE);
    expect(rejected.responses).toBeNull();
    const gone = new RemoteSocket(adapter, { ...details, id: "no-such-socket" });
    const answer = await ask(gone.timeout(3000), "q");
    expect(answer).toHaveLength(2);
    expect(answer[0]).toBeNull();
    expect(answer[1]).toBeUndefined();
  });

  it("broadcast acks in a custom namespace, binary responses included", async () => {
    const handle = await createIoServer();
    const { clients } = await connectMany(handle, mode, 2, "/ns");
    clients.forEach((c, i) => c.on("bin", (cb: (v: Buffer) => void) => cb(Buffer.from([i]))));
    const responses = await handle.io.of("/ns").timeout(3000).emitWithAck("bin");
    expect(responses.map((b: Buffer) => [...b]).sort()).toEqual([[0], [1]]);
  });
});
