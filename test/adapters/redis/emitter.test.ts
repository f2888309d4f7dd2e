/**
 * @socket.io/redis-emitter (a process that is not a server: here the test
 * runner itself, with its own Redis connection) reaching the clients of
 * tidewire nodes: broadcasts, rooms, namespaces, binary, socketsJoin/Leave,
 * disconnectSockets and serverSideEmit.
 */
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { Emitter } from "@socket.io/redis-emitter";
import { closeAll, connectClient, onClose, record, startNodes, uniqueKey, until, waitFor, REDIS_URL } from "./helpers/cluster.js";

const require = createRequire(import.meta.url);

afterEach(closeAll);

async function emitterClient(kind: "redis5" | "ioredis"): Promise<any> {
  if (kind === "ioredis") {
    const { Redis } = require("ioredis");
    const client = new Redis(REDIS_URL);
    client.on("error", () => {});
    onClose(() => client.disconnect());
    await new Promise((r) => client.once("ready", r));
    return client;
  }
  const { createClient } = require("redis");
  const client = createClient({ url: REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  onClose(() => client.quit().catch(() => {}));
  return client;
}

describe.each(["redis5", "ioredis"] as const)("@socket.io/redis-emitter over %s reaches tidewire's clients", (kind) => {
  async function setup() {
    const key = uniqueKey();
    const [a, b] = await startNodes([
      { key, name: "a" },
      { key, name: "b", client: kind === "ioredis" ? "ioredis" : "redis5" },
    ]);
    const users = {
      a1: await connectClient(a, { user: "a1", rooms: ["r1"] }),
      b1: await connectClient(b, { user: "b1", rooms: ["r1", "r2"] }),
      b2: await connectClient(b, { user: "b2" }),
      adm: await connectClient(b, { user: "adm", nsp: "/admin", rooms: ["r1"] }),
    };
    const got = Object.fromEntries(Object.entries(users).map(([u, s]) => [u, record(s)]));
    const emitter = new Emitter(await emitterClient(kind), { key });
    /** Who received `event`, after a barrier broadcast from the emitter (same channel order). */
    const receivers = async (event: string) => {
      const barrier = `barrier-${Math.random()}`;
      const waits = Object.values(users)
        .filter((s) => s.connected)
        .map((s) => waitFor(s, barrier));
      emitter.emit(barrier);
      emitter.of("/admin").emit(barrier);
      await Promise.all(waits);
      return Object.entries(got)
        .filter(([, events]) => events.some(([ev]) => ev === event))
        .map(([u]) => u)
        .sort();
    };
    return { a, b, users, got, emitter, receivers };
  }

  it("broadcasts to everyone, to rooms, except rooms, to another namespace, with binary", async () => {
    const { emitter, receivers, got } = await setup();
    emitter.emit("all", { hello: "world" }, Buffer.from([1, 2, 3]));
    expect(await receivers("all")).toEqual(["a1", "b1", "b2"]);
    const [, obj, bin] = got.b2.find(([ev]) => ev === "all")!;
    expect(obj).toEqual({ hello: "world" });
    expect(Buffer.from(bin).equals(Buffer.from([1, 2, 3]))).toBe(true);
    emitter.to("r1").emit("room");
    expect(await receivers("room")).toEqual(["a1", "b1"]);
    emitter.to(["r1", "r2"]).except("r2").emit("rooms-except");
    expect(await receivers("rooms-except")).toEqual(["a1"]);
    emitter.of("/admin").to("r1").emit("admin");
    expect(await receivers("admin")).toEqual(["adm"]);
    emitter.volatile.compress(false).emit("flags");
    expect(await receivers("flags")).toEqual(["a1", "b1", "b2"]);
  });

  it("makes sockets join and leave rooms and disconnects them", async () => {
    const { a, emitter, receivers, users } = await setup();
    emitter.in("r1").socketsJoin("joined");
    await until(async () => (await a.call("fetchSockets", { rooms: ["joined"] })).length === 2, 3000, "r1 members joined");
    expect(await receivers("x")).toEqual([]);
    emitter.to("joined").emit("to-joined");
    expect(await receivers("to-joined")).toEqual(["a1", "b1"]);
    emitter.in("r2").socketsLeave("joined");
    await until(async () => (await a.call("fetchSockets", { rooms: ["joined"] })).length === 1, 3000, "b1 left");
    const gone = waitFor(users.b1, "disconnect");
    emitter.in("r2").disconnectSockets();
    expect((await gone)[0]).toBe("io server disconnect");
    expect(users.a1.connected && users.b2.connected).toBe(true);
  });

  it("delivers serverSideEmit to every node", async () => {
    const { a, b, emitter } = await setup();
    emitter.serverSideEmit("sse", "from emitter", 42);
    const logs: any[][] = [[], []];
    await until(
      async () => {
        logs[0].push(...(await a.call("sseLog")));
        logs[1].push(...(await b.call("sseLog")));
        return logs.every((l) => l.length > 0);
      },
      3000,
      "serverSideEmit on both nodes",
    );
    for (const log of logs) expect(log).toEqual([{ nsp: "/", args: ["from emitter", 42] }]);
  });
});
