/**
 * Several machines, no sticky sessions: three tidewire processes on one real
 * Redis (tidewire/redis) behind a round-robin TCP proxy that sends every new
 * connection to the next node. The official client opens a new connection
 * for each polling request, so consecutive requests of a session reach
 * different nodes; each is relayed to the session's node over Redis.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll } from "../helpers/io.js";
import { IN_CI, REDIS_URL, redisReachable, uniqueKey } from "../forwarding/helpers.js";
import { connectClients, roundRobinProxy, startCluster, startRedisNodes, until, type Tracked } from "./helpers.js";

const redisUp = await redisReachable();
afterEach(closeAll);

it.runIf(!redisUp && IN_CI)(`finds Redis at ${REDIS_URL} (required when CI=true)`, () => {
  throw new Error(`CI=true but Redis does not answer at ${REDIS_URL}`);
});
if (!redisUp) console.warn(`[cluster/machines] SKIPPED: no Redis at ${REDIS_URL}`);

/** Each client emits `events` acked events, `inFlight` at a time, and checks every answer. */
async function exchange(clients: Tracked[], events: number, inFlight = 1): Promise<number> {
  let answered = 0;
  await Promise.all(
    clients.map(async (t, i) => {
      for (let j = 0; j < events; j += inFlight) {
        const batch = Array.from({ length: Math.min(inFlight, events - j) }, (_, k) => [i, j + k]);
        const answers = await Promise.all(batch.map((x) => t.socket.timeout(10000).emitWithAck("echo", x)));
        expect(answers).toEqual(batch);
        answered += batch.length;
      }
    }),
  );
  return answered;
}

describe.skipIf(!redisUp)("three nodes on Redis behind a round-robin proxy", () => {
  it("200 polling-only clients exchange 50 acked events each: no error, no reconnection, every ack answered", { timeout: 90000 }, async () => {
    const nodes = await startRedisNodes(3, uniqueKey(), REDIS_URL);
    const proxy = await roundRobinProxy(nodes.map((n) => n.port));
    const clients = await connectClients(proxy.url, 200, { transports: ["polling"] });
    // Five events in flight per client: every round is a POST and a poll or two, through any node.
    expect(await exchange(clients, 50, 5)).toBe(200 * 50);
    expect(clients.flatMap((t) => t.errors)).toEqual([]);
    expect(clients.flatMap((t) => t.disconnects)).toEqual([]);
    expect(clients.every((t) => t.connects === 1)).toBe(true);
    const stats = await Promise.all(nodes.map((n) => n.call("stats")));
    expect(stats.map((s) => s.sockets).reduce((a, b) => a + b)).toBe(200);
    expect(stats.map((s) => s.forwarding.refused)).toEqual([0, 0, 0]);
    // Two requests in three reach another node than the session's.
    expect(stats.map((s) => s.forwarding.relayed).reduce((a, b) => a + b)).toBeGreaterThan(200 * 10);
  });

  it("upgrades to WebSocket through the proxy (the upgrade is tunnelled to the session's node)", async () => {
    const nodes = await startRedisNodes(3, uniqueKey(), REDIS_URL);
    const proxy = await roundRobinProxy(nodes.map((n) => n.port));
    const clients = await connectClients(proxy.url, 30, { transports: ["polling", "websocket"] });
    await until(() => clients.every((t) => t.socket.io.engine.transport.name === "websocket"), 8000, "every client on WebSocket");
    expect(await exchange(clients, 10)).toBe(300);
    expect(clients.flatMap((t) => [...t.errors, ...t.disconnects])).toEqual([]);
    const stats = await Promise.all(nodes.map((n) => n.call("stats")));
    expect(stats.map((s) => s.forwarding.tunnelled).reduce((a, b) => a + b)).toBeGreaterThan(0);
    expect(stats.map((s) => s.forwarding.refused)).toEqual([0, 0, 0]);
  });

  it("two machines of two node:cluster workers each: handed over between a machine's workers, relayed between machines", async () => {
    const key = uniqueKey();
    const machines = await Promise.all(
      ["m0", "m1"].map((machine) => startCluster(["tidewire", "tidewire"], { redis: { key, url: REDIS_URL, machine } })),
    );
    const proxy = await roundRobinProxy(machines.map((m) => m.port));
    const clients = await connectClients(proxy.url, 30, { transports: ["polling"] });
    expect(await exchange(clients, 10)).toBe(300);
    expect(clients.flatMap((t) => [...t.errors, ...t.disconnects])).toEqual([]);
    const stats = (await Promise.all(machines.flatMap((m) => [0, 1].map((w) => m.worker(w, "stats"))))).map((s) => s.forwarding);
    const sum = (k: string) => stats.reduce((n, s) => n + s[k], 0);
    expect(sum("handedOver")).toBeGreaterThan(0);
    expect(sum("relayed")).toBeGreaterThan(0);
    expect(sum("refused")).toBe(0);
  });

  it("a node that stops: its clients reconnect through the proxy to the others", { timeout: 30000 }, async () => {
    const nodes = await startRedisNodes(3, uniqueKey(), REDIS_URL);
    const proxy = await roundRobinProxy(nodes.map((n) => n.port));
    const clients = await connectClients(proxy.url, 12, { transports: ["polling"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const owners = await Promise.all(clients.map((t) => t.socket.emitWithAck("whoami")));
    const victims = clients.filter((_, i) => (owners[i] as any).node === "n0");
    expect(victims.length).toBeGreaterThan(0);
    nodes[0].child.kill("SIGKILL");
    await nodes[0].exited;
    // Their pending polls wait on other nodes, which find out within LIVENESS_INTERVAL (2 s) that n0 is gone
    // (heartbeats here are socket.io's 25 s + 20 s). The proxy still sends a third of the connections to the
    // dead node: those fail and are retried.
    const started = Date.now();
    await until(() => victims.every((t) => t.connects >= 2 && t.socket.connected), 15000, "the stopped node's clients to reconnect");
    expect(Date.now() - started).toBeLessThan(10000);
    await until(() => clients.every((t) => t.socket.connected), 15000, "every client connected");
    for (const t of victims) expect((await t.socket.timeout(5000).emitWithAck("whoami")).node).not.toBe("n0");
  });
});
