/**
 * @socket.io/admin-ui 0.5.1, unchanged, on two tidewire nodes sharing real
 * Redis (tidewire/redis): the dashboard connected to node A sees node B's
 * stats, sockets and notifications (they travel as broadcasts on the /admin
 * namespace), lists B's sockets through fetchSockets, and its commands reach
 * B's clients; with basic auth and the admin UI's RedisStore, a session
 * earned on one node is honoured by the other. The admin UI never stops its
 * stats timer: after the servers and their Redis clients are closed it keeps
 * emitting, which must not crash the process (socket.io 4.8 with
 * @socket.io/redis-adapter rejects unhandled there).
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { instrument, RedisStore } from "@socket.io/admin-ui";
import { Server } from "../../../src/index.js";
import { createAdapter } from "../../../src/redis/index.js";
import { REDIS_URL, closeAll, onClose, uniqueKey, until, waitFor, withTimeout } from "./helpers/cluster.js";

const require = createRequire(import.meta.url);
const { createClient } = require("redis");
const Redis = require("ioredis");
// The admin UI's own dependency, as it resolves it.
const bcrypt = createRequire(require.resolve("@socket.io/admin-ui"))("bcryptjs") as {
  hashSync(password: string, rounds: number): string;
};

const IN_CI = process.env.CI === "true";

/** Whether something accepts TCP connections at REDIS_URL. */
function redisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

const redisMissing = !(await redisReachable(REDIS_URL));
if (redisMissing) {
  console.warn(
    `\n*** ${IN_CI ? "FAILING (CI=true)" : "SKIPPING"} test/adapters/redis/admin-ui: no Redis at ${REDIS_URL}. ` +
      "Start a Redis 7 server or set REDIS_URL. ***\n",
  );
}

afterEach(closeAll);

interface AdminNode {
  io: Server;
  url: string;
  /** Quits this node's Redis clients (also done at teardown). */
  quitRedis(): Promise<void>;
}

/** A tidewire node on the shared Redis, instrumented in development mode as `serverId` (plus `opts`). */
async function node(key: string, serverId: string, opts: Record<string, unknown> = {}): Promise<AdminNode> {
  const pub = createClient({ url: REDIS_URL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const quitRedis = async () => {
    for (const c of [pub, sub]) if (c.isOpen) await c.quit().catch(() => c.destroy?.());
  };
  onClose(quitRedis);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key }) });
  onClose(() => withTimeout(new Promise<void>((r) => io.close(() => r())), 3000, "io.close").catch(() => {}));
  instrument(io as any, { auth: false, mode: "development", serverId, ...opts });
  io.on("connection", (socket) => {
    socket.join(`home-${serverId}`);
    socket.on("hello", (n: number) => socket.emit("hello-back", n + 1));
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  await Promise.all([io.of("/").adapter.init(), io.of("/admin").adapter.init()]);
  return { io, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, quitRedis };
}

async function client(url: string, nsp = "/"): Promise<ClientSocket> {
  const socket = ioClient(url + (nsp === "/" ? "" : nsp), { transports: ["websocket"], forceNew: true, reconnection: false });
  onClose(() => socket.disconnect());
  await waitFor(socket, "connect", 4000);
  return socket;
}

/** The next `event` on `emitter` whose arguments satisfy `match` (set up before the action). */
function nextEvent(emitter: ClientSocket, event: string, match: (...args: any[]) => boolean = () => true, ms = 5000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: any[]) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching "${event}" within ${ms} ms`));
    }, ms);
    emitter.on(event, listener);
  });
}

// With CI=true a missing Redis is a failure, never a skip.
it.runIf(redisMissing && IN_CI)(`finds Redis at ${REDIS_URL} (required when CI=true)`, () => {
  throw new Error(`CI=true but no Redis at ${REDIS_URL}`);
});

describe.skipIf(redisMissing)("admin UI on two tidewire nodes over Redis", { timeout: 20000 }, () => {
  it("the dashboard on node A sees node B: stats, all_sockets, notifications", async () => {
    const key = uniqueKey();
    const a = await node(key, "node-A");
    const b = await node(key, "node-B");
    await until(async () => (await a.io.of("/admin").adapter.serverCount()) === 2, 3000, "both nodes on Redis");
    const early = await client(b.url);

    const admin = ioClient(`${a.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false });
    onClose(() => admin.disconnect());
    const allSockets = nextEvent(admin, "all_sockets");
    const statsOfB = nextEvent(admin, "server_stats", (s) => s.serverId === "node-B" && s.clientsCount === 1);
    const statsOfA = nextEvent(admin, "server_stats", (s) => s.serverId === "node-A" && s.clientsCount === 1);
    await waitFor(admin, "connect");

    // B's socket, fetched over Redis, with what the admin UI keeps in socket.data.
    const listed = (await allSockets)[0];
    const fromB = listed.find((s: any) => s.id === early.id);
    expect(fromB).toMatchObject({ nsp: "/", transport: "websocket", clientId: early.io.engine.id.slice(0, 12), data: {} });
    expect(fromB.rooms.sort()).toEqual([early.id, "home-node-B"].sort());
    expect(fromB.handshake).toMatchObject({ address: "127.0.0.1", secure: false, query: { EIO: "4", transport: "websocket" } });
    expect(listed.find((s: any) => s.id === admin.id)).toMatchObject({ nsp: "/admin" });

    // Each node's stats reach the dashboard, each with its own counts.
    const [bStats] = await statsOfB;
    expect(bStats.namespaces).toEqual(expect.arrayContaining([{ name: "/", socketsCount: 1 }, { name: "/admin", socketsCount: 0 }]));
    const [aStats] = await statsOfA;
    expect(aStats.namespaces).toEqual(expect.arrayContaining([{ name: "/", socketsCount: 0 }, { name: "/admin", socketsCount: 1 }]));

    // Activity on B, notified through Redis.
    const connected = nextEvent(admin, "socket_connected", (s) => s.nsp === "/" && s.transport === "websocket");
    const joined = nextEvent(admin, "room_joined", (nsp, room) => room === "home-node-B");
    const onB = await client(b.url);
    expect((await connected)[0]).toMatchObject({ id: onB.id, data: {} });
    expect((await joined)[2]).toBe(onB.id);
    expect(typeof (await joined)[3]).toBe("string"); // the Date survived the trip as a timestamp

    const received = nextEvent(admin, "event_received", (nsp, id) => id === onB.id);
    const sent = nextEvent(admin, "event_sent", (nsp, id) => id === onB.id);
    onB.emit("hello", 1);
    expect((await received)[2]).toEqual(["hello", 1]);
    expect((await sent)[2]).toEqual(["hello-back", 2]);

    const bId = onB.id;
    const gone = nextEvent(admin, "socket_disconnected", (nsp, id) => id === bId);
    onB.disconnect();
    expect((await gone)[2]).toBe("client namespace disconnect");
  });

  it("the dashboard's commands on node A reach clients of node B", async () => {
    const key = uniqueKey();
    const a = await node(key, "node-A");
    const b = await node(key, "node-B");
    await until(async () => (await a.io.of("/admin").adapter.serverCount()) === 2, 3000, "both nodes on Redis");
    const admin = await client(a.url, "/admin");
    const onA = await client(a.url);
    const onB = await client(b.url);
    const bSocket = b.io.of("/").sockets.get(onB.id)!;

    const joined = nextEvent(admin, "room_joined", (nsp, room, id) => room === "vip" && id === onB.id);
    admin.emit("join", "/", "vip", onB.id);
    await joined;
    expect(bSocket.rooms.has("vip")).toBe(true);

    const news = waitFor(onB, "announce");
    const aLog: unknown[] = [];
    onA.on("announce", (...args) => aLog.push(args));
    admin.emit("emit", "/", "vip", "announce", "vip only");
    expect(await news).toEqual(["vip only"]);
    // onA is not in "vip": a later broadcast to everyone overtakes nothing.
    const everyone = waitFor(onA, "announce");
    admin.emit("emit", "/", "", "announce", "everyone");
    await everyone;
    expect(aLog).toEqual([["everyone"]]);

    const left = nextEvent(admin, "room_left", (nsp, room, id) => room === "vip" && id === onB.id);
    admin.emit("leave", "/", "vip", onB.id);
    await left;
    expect(bSocket.rooms.has("vip")).toBe(false);

    const disconnected = waitFor(onB, "disconnect");
    admin.emit("_disconnect", "/", false, onB.id);
    expect((await disconnected)[0]).toBe("io server disconnect");
    expect(onA.connected).toBe(true);
  });

  it("basic auth with the admin UI's RedisStore (ioredis): a session earned on A lets the dashboard in on B", async () => {
    const key = uniqueKey();
    const redis = new Redis(REDIS_URL);
    onClose(() => redis.quit().catch(() => redis.disconnect()));
    const store = new RedisStore(redis, { prefix: `${key}-admin-session` });
    const auth = { type: "basic", username: "admin", password: bcrypt.hashSync("changeit", 4) };
    const a = await node(key, "node-A", { auth, store });
    const b = await node(key, "node-B", { auth, store });

    const onA = ioClient(`${a.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { username: "admin", password: "changeit" } });
    onClose(() => onA.disconnect());
    const session = waitFor(onA, "session");
    await waitFor(onA, "connect");
    const [sessionId] = await session;
    onClose(() => redis.del(`${key}-admin-session#${sessionId}`));
    expect(await redis.ttl(`${key}-admin-session#${sessionId}`)).toBeGreaterThan(0);

    const onB = ioClient(`${b.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { sessionId } });
    onClose(() => onB.disconnect());
    const config = waitFor(onB, "config");
    await waitFor(onB, "connect");
    expect((await config)[0].supportedFeatures).toContain("EMIT");

    const refused = ioClient(`${b.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { sessionId: "0123456789abcdef" } });
    onClose(() => refused.disconnect());
    expect((await waitFor(refused, "connect_error"))[0].message).toBe("invalid credentials");
  });

  it("the admin UI's stats timer, never stopped, does no harm once the servers and their Redis clients are closed", async () => {
    const key = uniqueKey();
    const a = await node(key, "node-A");
    const b = await node(key, "node-B");
    await client(a.url, "/admin");
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    onClose(() => process.off("unhandledRejection", onRejection));

    // The next stats tick after everything is closed, seen by wrapping the admin namespace's emit.
    let closed = false;
    const ticked = new Promise<void>((resolve) => {
      const nsp: any = a.io.of("/admin");
      const emit = nsp.emit;
      nsp.emit = function (this: unknown, ev: string, ...args: unknown[]) {
        const result = emit.call(this, ev, ...args);
        if (ev === "server_stats" && closed) setImmediate(resolve);
        return result;
      };
    });
    await Promise.all([a, b].map((n) => new Promise<void>((r) => n.io.close(() => r()))));
    await Promise.all([a.quitRedis(), b.quitRedis()]);
    closed = true;
    await withTimeout(ticked, 3000, "the admin UI's next stats tick");
    await new Promise((r) => setTimeout(r, 50));
    expect(rejections).toEqual([]);
  });
});
