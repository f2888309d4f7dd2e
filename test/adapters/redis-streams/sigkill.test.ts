/**
 * A node dies (SIGKILL: no disconnect path runs) while it holds 500 clients
 * and broadcasts flow: every client recovers on the surviving nodes with its
 * rooms and data, and receives every broadcast to its room exactly once, in
 * order. The sessions reached Redis while the clients were connected.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { balancer, closeAll, makeClient, missingRequirement, startNodes, uniqueKey, until, waitFor } from "./helpers.js";

const missing = await missingRequirement();
afterEach(closeAll);

const CLIENTS = 500;
const ROOMS = 10;

describe.skipIf(missing !== null)("SIGKILL of the node holding the clients", () => {
  it(
    `${CLIENTS} clients recover on the other nodes; nothing missed, duplicated or reordered`,
    async () => {
      const key = uniqueKey();
      const [a, b, c] = await startNodes(
        // Generous heartbeats: 500 clients share this machine's two cores with three nodes and Redis.
        ["A", "B", "C"].map((name) => ({ key, name, env: { PING_MS: "10000" } })),
      );
      let next = 0;
      let target = () => a.port;
      const lb = await balancer(() => target());
      const rooms = Array.from({ length: ROOMS }, (_, i) => `g${i}`);
      const reasons: string[] = [];
      const clients: Array<{ socket: ClientSocket; room: number; seqs: number[]; reconnects: number; recovered: boolean[] }> = [];
      for (let i = 0; i < CLIENTS; i++) {
        const room = i % ROOMS;
        const socket = makeClient(lb.url, { user: `u${i}`, rooms: [rooms[room]] });
        const entry = { socket, room, seqs: [] as number[], reconnects: 0, recovered: [] as boolean[] };
        socket.on("tick", (r: string, seq: number) => {
          if (r === rooms[room]) entry.seqs.push(seq);
        });
        socket.on("connect", () => entry.recovered.push(socket.recovered));
        socket.on("disconnect", (reason: string) => reasons.push(reason));
        socket.on("connect_error", (err: Error) => reasons.push("connect_error " + err.message));
        clients.push(entry);
      }
      await until(() => clients.every((x) => x.socket.connected), 15000, "every client connected to A");
      expect(await a.call("localCount")).toBe(CLIENTS);

      // Broadcasts to every room every 20 ms, from C.
      await c.call("startTicker", { rooms, interval: 20 });
      await until(() => clients.every((x) => x.seqs.length >= 3), 10000, "ticks flowing to every client");
      target = () => (next++ % 2 === 0 ? b.port : c.port);
      await a.kill("SIGKILL");
      await until(() => clients.every((x) => x.recovered.length === 2 && x.socket.connected), 20000, "every client reconnected").catch((err) => {
        const connected = clients.filter((x) => x.socket.connected).length;
        const counts = clients.map((x) => x.recovered.length).reduce((m: Record<number, number>, n) => ((m[n] = (m[n] ?? 0) + 1), m), {});
        throw new Error(`${err.message}: ${connected} connected, connects per client ${JSON.stringify(counts)} reasons ${JSON.stringify(reasons.reduce((m: Record<string, number>, r) => ((m[r] = (m[r] ?? 0) + 1), m), {}))} recovered ${clients.filter((x) => x.recovered[1]).length}\n${b.output().slice(-2000)}`);
      });
      const before = clients.map((x) => x.seqs.length);
      await until(() => clients.every((x, i) => x.seqs.length >= before[i] + 3), 10000, "ticks flowing after the failover");
      const last = (await c.call("stopTicker")) as number;

      // The last broadcast of each room, as the ticker numbered them (room j gets t*ROOMS + j + 1).
      const lastOf = (room: number) => last - ((last - 1 - room) % ROOMS + ROOMS) % ROOMS;
      await until(() => clients.every((x) => x.seqs.at(-1) === lastOf(x.room)), 10000, "every client has its room's last broadcast");
      const problems: string[] = [];
      for (const [i, x] of clients.entries()) {
        if (x.recovered[1] !== true) problems.push(`client ${i} not recovered`);
        for (let k = 1; k < x.seqs.length; k++) {
          const step = x.seqs[k] - x.seqs[k - 1];
          if (step !== ROOMS) problems.push(`client ${i}: ${x.seqs[k - 1]} then ${x.seqs[k]} (${step < ROOMS ? (step <= 0 ? "duplicated or reordered" : "foreign") : "missed"})`);
        }
      }
      expect(problems.slice(0, 10)).toEqual([]);
      // Rooms and data came back with the sessions.
      const sockets = await b.call("fetchSockets", { rooms: ["g3"] });
      expect(sockets.length).toBe(CLIENTS / ROOMS);
      expect(sockets.every((s: any) => s.data.node === "A" && s.rooms.includes("g3"))).toBe(true);
      expect(lb.open().has(a.port)).toBe(false);
    },
    60000,
  );
});
