/**
 * tidewire/cluster on a real node:cluster primary with three workers (child
 * processes), node:cluster's default round-robin scheduling spreading every
 * new connection over the workers, and official socket.io-client clients
 * without sticky sessions: a polling request or upgrade that reaches a
 * worker which does not hold its session is handed to the one that does.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, waitFor } from "../helpers/io.js";
import { connectClients, startCluster, until, type Tracked } from "./helpers.js";

afterEach(closeAll);

const TIDEWIRE3 = ["tidewire", "tidewire", "tidewire"] as const;

async function exchange(clients: Tracked[], events: number): Promise<number> {
  let answered = 0;
  await Promise.all(
    clients.map(async (t, i) => {
      for (let j = 0; j < events; j++) {
        const got = await t.socket.timeout(8000).emitWithAck("echo", { i, j });
        expect(got).toEqual({ i, j });
        answered++;
      }
    }),
  );
  return answered;
}

/**
 * `exchange` after a worker died: a client whose next request goes out on a
 * pooled keep-alive connection that the dead worker held fails that request
 * and reconnects (as behind any load balancer), possibly after every client
 * looked connected. Such an emit is sent again once the client is back;
 * every event must still be answered, with its own payload.
 */
async function exchangeAcrossReconnects(clients: Tracked[], events: number): Promise<number> {
  let answered = 0;
  await Promise.all(
    clients.map(async (t, i) => {
      for (let j = 0; j < events; j++) {
        for (let attempt = 0; ; attempt++) {
          try {
            expect(await t.socket.timeout(8000).emitWithAck("echo", { i, j })).toEqual({ i, j });
            break;
          } catch (err) {
            if (attempt >= 2 || !/disconnected/.test(String((err as Error).message))) throw err;
            await until(() => t.socket.connected, 10000, "a client to come back after its pooled connection died");
          }
        }
        answered++;
      }
    }),
  );
  return answered;
}

function expectUndisturbed(clients: Tracked[]): void {
  expect(clients.flatMap((t) => t.errors)).toEqual([]);
  expect(clients.flatMap((t) => t.disconnects)).toEqual([]);
  expect(clients.every((t) => t.connects === 1)).toBe(true);
}

async function forwardingStats(cluster: Awaited<ReturnType<typeof startCluster>>, workers: number) {
  const stats = await Promise.all(Array.from({ length: workers }, (_, i) => cluster.worker(i, "stats")));
  const sum = (k: string) => stats.reduce((n, s) => n + (s.forwarding?.[k] ?? 0), 0);
  return { stats, handedOver: sum("handedOver"), relayed: sum("relayed"), refused: sum("refused"), sockets: stats.map((s) => s.sockets) };
}

describe("tidewire/cluster: node:cluster workers, no sticky sessions", () => {
  it("polling-only clients exchange acked events while round-robin scheduling spreads every request", async () => {
    const cluster = await startCluster([...TIDEWIRE3]);
    const clients = await connectClients(cluster.url, 60, { transports: ["polling"] });
    expect(await exchange(clients, 15)).toBe(60 * 15);
    expectUndisturbed(clients);
    const f = await forwardingStats(cluster, 3);
    // Each polling request is a new connection (the client's default): most land on another worker.
    expect(f.handedOver).toBeGreaterThan(60 * 15);
    expect(f.refused).toBe(0);
    expect(f.relayed).toBe(0);
    expect(f.sockets.reduce((a, b) => a + b, 0)).toBe(60);
    expect(f.sockets.every((n) => n > 0)).toBe(true);
  });

  it("keeps working over HTTP keep-alive connections shared by clients of every worker", async () => {
    const cluster = await startCluster([...TIDEWIRE3]);
    const agent = new http.Agent({ keepAlive: true });
    const clients = await connectClients(cluster.url, 30, { transports: ["polling"], agent } as never);
    expect(await exchange(clients, 15)).toBe(30 * 15);
    expectUndisturbed(clients);
    const f = await forwardingStats(cluster, 3);
    expect(f.handedOver).toBeGreaterThan(0);
    expect(f.refused).toBe(0);
    agent.destroy();
  });

  it("upgrades to WebSocket whichever worker the upgrade reaches", async () => {
    const cluster = await startCluster([...TIDEWIRE3]);
    const clients = await connectClients(cluster.url, 30, { transports: ["polling", "websocket"] });
    await until(() => clients.every((t) => t.socket.io.engine.transport.name === "websocket"), 8000, "every client on WebSocket");
    expect(await exchange(clients, 5)).toBe(30 * 5);
    expectUndisturbed(clients);
    expect((await forwardingStats(cluster, 3)).refused).toBe(0);
  });

  it("broadcasts to rooms and carries binary payloads between workers (setupPrimary() chooses advanced serialization)", async () => {
    const cluster = await startCluster([...TIDEWIRE3]);
    const clients = await connectClients(cluster.url, 9, { transports: ["websocket"], auth: { rooms: ["r"] } });
    const owners = await Promise.all(clients.map((t) => t.socket.emitWithAck("whoami")));
    expect(new Set(owners.map((o: any) => o.node)).size).toBe(3);
    const received = clients.map((t) => waitFor<[Buffer, any]>(t.socket, "bin", 5000));
    await cluster.worker(0, "emit", { rooms: ["r"], event: "bin", args: [Buffer.from([0, 1, 2, 255]), { nested: Buffer.from("x") }] });
    for (const [buf, obj] of await Promise.all(received)) {
      expect(Buffer.from(buf)).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(Buffer.from(obj.nested).toString()).toBe("x");
    }
    // serverSideEmit with a Buffer, acknowledged by the two other workers.
    expect(await cluster.worker(1, "serverSideEmitWithAck", { event: "sse", args: ["ping", Buffer.from([7])] })).toEqual(["w0:ping", "w2:ping"]);
    expect(await cluster.worker(0, "sseLog")).toEqual([["ping", { buffer: [7] }]]);
    expect((await cluster.worker(2, "fetchSockets", { rooms: ["r"] })).length).toBe(9);
  });

  it("over HTTPS (a TLS connection cannot move) relays requests and tunnels upgrades through the primary, JSON IPC too", async () => {
    const ca = readFileSync(new URL("../fixtures/test-cert.pem", import.meta.url)).toString();
    const cluster = await startCluster([...TIDEWIRE3], { tls: true, serialization: "json" });
    const polling = await connectClients(cluster.url, 15, { transports: ["polling"], ca });
    const upgrading = await connectClients(cluster.url, 15, { ca });
    await until(() => upgrading.every((t) => t.socket.io.engine.transport.name === "websocket"), 8000, "every client on WebSocket");
    expect(await exchange([...polling, ...upgrading], 8)).toBe(30 * 8);
    expectUndisturbed([...polling, ...upgrading]);
    const f = await forwardingStats(cluster, 3);
    expect(f.handedOver).toBe(0);
    expect(f.relayed).toBeGreaterThan(15 * 8);
    expect(f.stats.reduce((n, s) => n + s.forwarding.tunnelled, 0)).toBeGreaterThan(0);
    expect(f.refused).toBe(0);
  });

  it("a killed worker's clients reconnect to the other workers", async () => {
    const cluster = await startCluster([...TIDEWIRE3]);
    const clients = await connectClients(cluster.url, 24, { transports: ["polling"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const owners = await Promise.all(clients.map((t) => t.socket.emitWithAck("whoami")));
    const victims = clients.filter((_, i) => (owners[i] as any).node === "w1");
    const others = clients.filter((_, i) => (owners[i] as any).node !== "w1");
    expect(victims.length).toBeGreaterThan(0);
    await cluster.kill(1);
    await until(() => victims.every((t) => t.connects === 2 && t.socket.connected), 10000, "the killed worker's clients to reconnect");
    for (const t of victims) expect((await t.socket.timeout(5000).emitWithAck("whoami")).node).not.toBe("w1");
    // A request that was on its way through the killed worker fails with it (its client reconnects, as
    // with any load balancer); sessions held by the live workers stay.
    await until(() => clients.every((t) => t.socket.connected), 10000, "every client connected");
    expect(await exchangeAcrossReconnects(clients, 5)).toBe(24 * 5);
    const stayed = others.filter((t) => t.connects === 1).length;
    expect(stayed).toBeGreaterThan(others.length / 2);
  });
});
