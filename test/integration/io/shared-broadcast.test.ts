/**
 * The broadcast write path shares what it can between recipients: one send
 * options object and one queued packet per broadcast, and on WebSocket one
 * buffer for recipients whose batch is made of the same broadcast frames.
 * Checked here: every client gets exactly its own sequence when the
 * recipients' batches of one turn differ in every way (rooms, order, direct
 * emits, binary, volatile), and listeners that see queued packets
 * (packetCreate, flush) never get an object another session also holds.
 */
import { afterEach, describe, expect, it } from "vitest";
import { barrier, closeAll, connectMany, createIoServer, MODES, recordEvents } from "../../helpers/io.js";

afterEach(closeAll);

/** Room membership: client index → rooms. Clients 0 and 1 share their rooms, so their batches are equal. */
const MEMBERSHIP: string[][] = [["a", "b"], ["a", "b"], ["a"], ["b"], [], ["b", "a"]];

describe.each(MODES)("broadcasts sharing frames (%s)", { timeout: 15000 }, (mode) => {
  it("each client gets exactly its own packets, in order, whatever its neighbours' batches hold", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, mode, MEMBERSHIP.length);
    await Promise.all(MEMBERSHIP.map((rooms, i) => sockets[i].join(rooms)));
    const logs = clients.map(recordEvents);
    const io = handle.io;
    const expected: unknown[][] = MEMBERSHIP.map(() => []);
    const to = (rooms: string[], ...args: unknown[]): void => {
      (io.to(rooms) as any).emit(...args);
      MEMBERSHIP.forEach((member, i) => {
        if (rooms.some((r) => member.includes(r))) expected[i].push(args);
      });
    };
    // Three turns of the same mix with new payloads. Each starts with a broadcast to everyone, so
    // sessions flush in connection order: clients 2 and 3 then flush one after the other with
    // batches of equal length that start with the same frame and differ after it.
    for (let turn = 0; turn < 3; turn++) {
      io.emit("all", turn);
      expected.forEach((e) => e.push(["all", turn]));
      for (let k = 1; k < 12; k++) {
        const payload = { turn, k, text: "é".repeat(k) };
        if (k % 4 === 1) to(["a"], "tick", payload);
        else if (k % 4 === 2) to(["b"], "tick", payload);
        else if (k % 4 === 3) to(["a", "b"], "both", payload, Buffer.from([turn, k]));
        else {
          // A direct emit to one socket amid the broadcasts: its frame is its own.
          const i = [0, 1, 4, 5][(turn + k) % 4];
          sockets[i].emit("direct", payload);
          expected[i].push(["direct", payload]);
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })), 5000);
    logs.forEach((log, i) => {
      const normalized = log.map((entry) => entry.map((v) => (v instanceof ArrayBuffer || Buffer.isBuffer(v) ? [...new Uint8Array(v as ArrayBuffer)] : v)));
      const want = expected[i].map((entry) => entry.map((v) => (Buffer.isBuffer(v) ? [...v] : v)));
      expect(normalized).toEqual(want);
    });
  });
});

describe("broadcast packets and the listeners that see them", { timeout: 10000 }, () => {
  it("a flush listener added after a broadcast was queued gets objects of its session only", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, "websocket", 3);
    const logs = clients.map(recordEvents);
    handle.io.emit("one", 1);
    handle.io.emit("two", 2);
    const seen = new Map<object, string>();
    const shared: string[] = [];
    handle.io.engine.on("flush", (session: { id: string }, packets: object[]) => {
      for (const packet of packets) {
        const owner = seen.get(packet);
        if (owner !== undefined && owner !== session.id) shared.push(`${owner} and ${session.id}`);
        seen.set(packet, session.id);
      }
    });
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    expect(seen.size).toBeGreaterThanOrEqual(6);
    expect(shared).toEqual([]);
    for (const log of logs) expect(log).toEqual([["one", 1], ["two", 2]]);
  });

  it("a session's flush and packetCreate listeners get packets no other session holds", async () => {
    const handle = await createIoServer();
    const { clients, sockets } = await connectMany(handle, "websocket", 4);
    const owners = new Map<object, string>();
    const shared: string[] = [];
    const note = (packet: object, id: string): void => {
      const owner = owners.get(packet);
      if (owner !== undefined && owner !== id) shared.push(`${owner} and ${id}`);
      owners.set(packet, id);
    };
    // Listeners on some sessions only: the others (3) may share among themselves, never with them.
    sockets[0].conn.on("packetCreate", (packet: object) => note(packet, sockets[0].id));
    sockets[1].conn.on("flush", (packets: object[]) => packets.forEach((p) => note(p, sockets[1].id)));
    handle.io.emit("hello", { n: 1 });
    // Added once the packet was queued, perhaps shared with socket 3's.
    sockets[2].conn.on("flush", (packets: object[]) => packets.forEach((p) => note(p, sockets[2].id)));
    await barrier(clients.map((client, i) => ({ client, socket: sockets[i] })));
    expect(new Set(owners.values()).size).toBe(3);
    expect(shared).toEqual([]);
  });
});
