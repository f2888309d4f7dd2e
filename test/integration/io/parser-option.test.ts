/**
 * The `parser` option: socket.io-msgpack-parser on both ends carries events,
 * acks, binary, namespaces, broadcasts and middleware errors unchanged.
 */
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { barrier, closeAll, connectMany, connectPair, createClient, createIoServer, MODES, recordEvents, waitFor } from "../../helpers/io.js";

const require = createRequire(import.meta.url);
const msgpackParser = require("socket.io-msgpack-parser");

afterEach(closeAll);

function bytes(value: any): number[] {
  return [...new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength)];
}

describe.each(MODES)("msgpack parser (%s)", { timeout: 10000 }, (mode) => {
  const clientOpts = { parser: msgpackParser };

  it("events both ways, JSON-like values", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    const { client, socket } = await connectPair(handle, mode, clientOpts);
    const value = { s: "héllo 🎉", n: -1.5, big: 2 ** 40, b: true, nil: null, list: [1, [2, { three: 3 }]], empty: {} };
    const atServer = waitFor(socket, "to-server");
    client.emit("to-server", value, "second");
    expect(await atServer).toEqual([value, "second"]);
    const atClient = waitFor(client, "to-client");
    socket.emit("to-client", value);
    expect(await atClient).toEqual([value]);
  });

  it("binary both ways", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    const { client, socket } = await connectPair(handle, mode, clientOpts);
    const atServer = waitFor(socket, "bin");
    client.emit("bin", new Uint8Array([1, 2, 3]), { nested: new Uint8Array([4]) });
    const [a, b] = await atServer;
    expect(bytes(a)).toEqual([1, 2, 3]);
    expect(bytes(b.nested)).toEqual([4]);
    const atClient = waitFor(client, "bin");
    socket.emit("bin", Buffer.from([5, 6]), { nested: [Buffer.alloc(1000, 9)] });
    const [c, d] = await atClient;
    expect(bytes(c)).toEqual([5, 6]);
    expect(bytes(d.nested[0])).toEqual(new Array(1000).fill(9));
  });

  it("acks both ways, with timeout", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    const { client, socket } = await connectPair(handle, mode, clientOpts);
    socket.on("add", (a: number, b: number, cb: (r: number) => void) => cb(a + b));
    client.on("mul", (a: number, b: number, cb: (r: number, bin: Uint8Array) => void) => cb(a * b, new Uint8Array([a])));
    expect(await client.timeout(3000).emitWithAck("add", 2, 3)).toBe(5);
    const [err, product, bin] = await new Promise<any[]>((resolve) =>
      socket.timeout(3000).emit("mul", 4, 5, (...args: unknown[]) => resolve(args)),
    );
    expect(err).toBeNull();
    expect(product).toBe(20);
    expect(bytes(bin)).toEqual([4]);
    await expect(socket.timeout(100).emitWithAck("silence")).rejects.toThrow("operation has timed out");
  });

  it("namespaces, broadcasts and broadcast acks", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    const { clients, sockets } = await connectMany(handle, mode, 3, "/chat", clientOpts);
    sockets[0].join("r");
    sockets[2].join("r");
    const logs = clients.map(recordEvents);
    handle.io.of("/chat").to("r").emit("news", { id: 1 }, Buffer.from([1]));
    sockets[0].broadcast.emit("from-0");
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    expect(logs[0].map(([ev]) => ev)).toEqual(["news"]);
    expect(logs[1].map(([ev]) => ev)).toEqual(["from-0"]);
    expect(logs[2].map(([ev]) => ev)).toEqual(["news", "from-0"]);
    expect(logs[2][0][1]).toEqual({ id: 1 });
    expect(bytes(logs[2][0][2])).toEqual([1]);
    clients.forEach((c, i) => c.on("vote", (cb: (v: number) => void) => cb(i)));
    const votes = await handle.io.of("/chat").timeout(3000).emitWithAck("vote");
    expect([...votes].sort()).toEqual([0, 1, 2]);
  });

  it("middleware errors with data and unknown namespaces reach the client", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    handle.io.of("/locked").use((_s, next) => {
      const err: Error & { data?: unknown } = new Error("locked out");
      err.data = { code: 42 };
      next(err);
    });
    const locked = createClient(handle, mode, clientOpts, "/locked");
    const [err] = await waitFor(locked, "connect_error");
    expect(err.message).toBe("locked out");
    expect(err.data).toEqual({ code: 42 });
    const unknown = createClient(handle, mode, clientOpts, "/unknown");
    const [err2] = await waitFor(unknown, "connect_error");
    expect(err2.message).toBe("Invalid namespace");
  });

  it("server disconnect reaches a msgpack client", async () => {
    const handle = await createIoServer({ parser: msgpackParser });
    const { client, socket } = await connectPair(handle, mode, clientOpts);
    const reason = waitFor(client, "disconnect");
    socket.disconnect();
    expect((await reason)[0]).toBe("io server disconnect");
  });
});
