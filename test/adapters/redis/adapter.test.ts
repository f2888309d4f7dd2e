/**
 * The adapter in-process, two tidewire servers against real Redis: option
 * and client checks, clients connected after the adapter was created,
 * namespaces created later, close(), binary in fetchSockets answers, the
 * bound on publishes waiting for an unreachable Redis.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { Server } from "../../../src/index.js";
import { createAdapter, createShardedAdapter, RedisAdapter } from "../../../src/redis/index.js";
import { REDIS_URL, closeAll, onClose, privateRedis, rawRedis, uniqueKey, until, waitFor, withTimeout } from "./helpers/cluster.js";

const require = createRequire(import.meta.url);
const { createClient } = require("redis");

afterEach(closeAll);

/** A connected node-redis v5 pair (or unconnected with `connect: false`), closed at teardown. */
async function clients(url = REDIS_URL, connect = true): Promise<[any, any]> {
  const pub = createClient({ url, socket: { reconnectStrategy: (n: number) => Math.min(n * 50, 200) } });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", () => {});
  if (connect) await Promise.all([pub.connect(), sub.connect()]);
  onClose(async () => {
    for (const c of [pub, sub]) if (c.isOpen) await c.quit().catch(() => c.destroy?.());
  });
  return [pub, sub];
}

async function server(adapter: any): Promise<{ io: any; url: string }> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter });
  onClose(() => withTimeout(new Promise<void>((r) => io.close(() => r())), 3000, "io.close").catch(() => {}));
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  await io.of("/").adapter.init();
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
}

async function client(url: string, nsp = "/"): Promise<ClientSocket> {
  const socket = ioClient(url + (nsp === "/" ? "" : nsp), { transports: ["websocket"], forceNew: true, reconnection: false });
  onClose(() => socket.disconnect());
  await waitFor(socket, "connect");
  return socket;
}

describe("createAdapter / createShardedAdapter checks", () => {
  it("refuses what is not a pair of Redis clients, with errors that say what to pass", async () => {
    const [pub, sub] = await clients();
    expect(() => createAdapter({}, sub)).toThrow(/pubClient \(first argument\) is not a Redis client.*"redis" package \(v4, v5 or v6/);
    expect(() => createAdapter(pub, null)).toThrow(/subClient \(second argument\) is not a Redis client/);
    expect(() => createAdapter(pub, pub)).toThrow(/same client.*pubClient\.duplicate\(\)/);
    expect(() => createShardedAdapter("redis://x", sub)).toThrow(/not a Redis client/);
  });

  it("validates options once, naming the option", async () => {
    const [pub, sub] = await clients();
    expect(() => createAdapter(pub, sub, { requestsTimeout: -1 })).toThrow(/Invalid option "requestsTimeout"/);
    expect(() => createAdapter(pub, sub, { key: "" })).toThrow(/Invalid option "key"/);
    expect(() => createAdapter(pub, sub, { parser: { encode: JSON.stringify } as any })).toThrow(/Invalid option "parser"/);
    expect(() => createAdapter(pub, sub, { limits: { pendingRequests: 0 } })).toThrow(/Invalid option "limits.pendingRequests"/);
    expect(() => createShardedAdapter(pub, sub, { subscriptionMode: "sometimes" as any })).toThrow(/Invalid option "subscriptionMode"/);
    expect(typeof createAdapter(pub, sub, { key: "k", requestsTimeout: 10, publishOnSpecificResponseChannel: true })).toBe("function");
  });
});

describe("adapter lifecycle", () => {
  it("subscribes once clients connected after the adapter was created", async () => {
    const key = uniqueKey();
    const [pubA, subA] = await clients(REDIS_URL, false);
    const httpServer = http.createServer();
    const ioA = new Server(httpServer, { adapter: createAdapter(pubA, subA, { key }) });
    onClose(() => new Promise<void>((r) => ioA.close(() => r())));
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
    await Promise.all([pubA.connect(), subA.connect()]);
    const b = await server(createAdapter(...(await clients()), { key }));
    const onA = await client(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`);
    await until(async () => (await b.io.of("/").adapter.serverCount()) === 2, 3000, "a subscribed after connecting");
    const got = waitFor(onA, "hi");
    b.io.emit("hi", "from b");
    expect((await got)[0]).toBe("from b");
  });

  it("subscribes namespaces created later, and close() unsubscribes and detaches from the clients", async () => {
    const key = uniqueKey();
    const [pub, sub] = await clients();
    const errorListeners = pub.listenerCount("error");
    const a = await server(createAdapter(pub, sub, { key }));
    const b = await server(createAdapter(...(await clients()), { key }));
    expect(pub.listenerCount("error")).toBe(errorListeners + 1);
    const late = b.io.of("/late");
    await late.adapter.init();
    a.io.of("/late");
    await a.io.of("/late").adapter.init();
    const onA = await client(a.url, "/late");
    const got = waitFor(onA, "late news");
    late.emit("late news");
    await got;
    expect(await late.adapter.serverCount()).toBe(2);
    await new Promise<void>((r) => a.io.close(() => r()));
    await until(async () => (await late.adapter.serverCount()) === 1, 3000, "a's /late adapter unsubscribed");
    expect(await b.io.of("/").adapter.serverCount()).toBe(1);
    // The user's clients stay usable, and the adapter's listeners are gone.
    expect(pub.isOpen && sub.isOpen).toBe(true);
    expect(pub.listenerCount("error")).toBe(errorListeners);
    expect(a.io.of("/").adapter).toBeInstanceOf(RedisAdapter);
  });
});

describe("data across nodes", () => {
  it("sends socket.data holding binary as raw bytes in fetchSockets answers", async () => {
    const key = uniqueKey();
    const raw = await rawRedis();
    const answers: Buffer[] = [];
    await raw.pSubscribe(`${key}-response#*`, (msg: Buffer) => answers.push(msg), true);
    const a = await server(createAdapter(...(await clients()), { key }));
    const b = await server(createAdapter(...(await clients()), { key }));
    b.io.on("connection", (socket: any) => (socket.data = { avatar: Buffer.from([1, 2, 3, 250]) }));
    await client(b.url);
    const [remote] = await a.io.fetchSockets();
    expect(Buffer.isBuffer(remote.data.avatar)).toBe(true);
    expect([...remote.data.avatar]).toEqual([1, 2, 3, 250]);
    await until(() => answers.length > 0, 2000, "the answer seen on Redis");
    expect(answers[0][0]).not.toBe(0x7b);
    expect(answers[0].indexOf(Buffer.from([1, 2, 3, 250]))).toBeGreaterThan(0);
  });
});

describe("acks across nodes", () => {
  it("a RemoteSocket's ack gives the answer, or (Error, null) on timeout; a broadcast ack the responses so far", async () => {
    const key = uniqueKey();
    const a = await server(createAdapter(...(await clients()), { key }));
    const b = await server(createAdapter(...(await clients()), { key }));
    const onB = await client(b.url);
    onB.on("q", (cb: (v: string) => void) => cb("yes"));
    onB.on("silent", () => undefined);
    const ask = (op: any, event: string) => new Promise<unknown[]>((resolve) => op.emit(event, (...args: unknown[]) => resolve(args)));
    const [remote] = await a.io.fetchSockets();
    expect(remote.id).toBe(onB.id);
    expect(typeof (remote as any).join).toBe("function");
    expect(await ask(remote.timeout(3000), "q")).toEqual([null, "yes"]);
    const [err, response] = await ask(remote.timeout(300), "silent");
    expect((err as Error).message).toBe("operation has timed out");
    expect(response).toBeNull();
    expect(await ask(a.io.timeout(3000), "q")).toEqual([null, ["yes"]]);
    const [broadcastErr, responses] = await ask(a.io.timeout(300), "silent");
    expect((broadcastErr as Error).message).toBe("operation has timed out");
    expect(responses).toEqual([]);
  });
});

describe("Redis unreachable", () => {
  it("keeps at most limits.pendingPublishBytes of publishes waiting; later ones are dropped, then traffic resumes", async () => {
    const redis = await privateRedis();
    const key = uniqueKey();
    const opts = { key, requestsTimeout: 500, limits: { pendingPublishBytes: 8 * 1024 } };
    const a = await server(createAdapter(...(await clients(redis.url)), opts));
    const b = await server(createAdapter(...(await clients(redis.url)), opts));
    const onB = await client(b.url);
    const seen: number[] = [];
    onB.on("n", (i: number) => seen.push(i));
    // A frozen Redis keeps the connections open: publishes wait for answers.
    redis.pause();
    const filler = "x".repeat(1024);
    for (let i = 0; i < 50; i++) a.io.emit("n", i, filler);
    // Requests do not queue behind them: they fail after requestsTimeout.
    await expect(a.io.fetchSockets()).rejects.toThrow(/Redis did not answer PUBSUB NUMSUB within 500 ms/);
    redis.resume();
    // Once Redis answered what waited, publishing works again.
    let back = false;
    onB.once("last", () => (back = true));
    await until(
      async () => {
        a.io.emit("last");
        await new Promise((r) => setTimeout(r, 30));
        return back;
      },
      3000,
      "broadcasts after Redis resumed",
    );
    // What waited was delivered in order; what did not fit in 8 KiB (~1.3 KiB each) was dropped.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(8);
    expect(seen).toEqual(seen.map((_, i) => i));
  });
});
