// room-churn: every client is a member of `held` rooms at all times and
// churns through them: each cycle sends, in one write, join(next room),
// say(that room) and leave(its oldest room), then waits for the three acks.
// `say` broadcasts to the other members of the room; with `rooms` rooms and
// `held` rooms per client, a room has about clients*held/rooms members.
// Unit: one acknowledged operation (join, say or leave). Broadcasts received
// by room members are counted separately as deliveries; a client receiving
// its own broadcast counts as an error.
import { connectWs, runBounded } from "../connect.js";
import { readInt } from "../protocol.js";

const SAID = Buffer.from('["said",{"from":');

let clients = [];

/**
 * Room of client `i` at step `k` of its walk: a hash of both, so that room
 * occupancy is uniform (about clients*held/rooms members) whatever the
 * clients' relative progress. (A linear walk makes occupancy depend on how
 * evenly the server serves the clients, so the deliveries per op would
 * differ between targets.)
 */
function roomOf(i, k, rooms) {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return `r${(h >>> 0) % rooms}`;
}

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency, rooms, held } = ctx.params;
  const offset = ctx.index * n;
  clients = await runBounded(n, concurrency, () => connectWs(ctx.port, ctx.error), 30000);
  // Initial memberships, not measured.
  await runBounded(
    n,
    concurrency,
    (i) =>
      new Promise((resolve, reject) => {
        const c = clients[i];
        let acks = 0;
        c.onack = () => {
          if (++acks === held) resolve();
        };
        c.onclose = () => reject(new Error("closed while joining"));
        for (let k = 0; k < held; k++) c.send(`42${k}["join","${roomOf(offset + i, k, rooms)}"]`);
      }),
    30000,
  );
}

/** @param {import("../worker.js").LoadContext} ctx */
export function start(ctx) {
  const { rooms, held } = ctx.params;
  const offset = ctx.index * clients.length;
  clients.forEach((c, i) => {
    const who = offset + i;
    let nextId = held; // ids 0..held-1 went to the initial joins
    let expectedId = held;
    let step = held; // rooms walked so far: the client holds steps [step-held, step)
    let pending = 0;
    const cycle = () => {
      const joinRoom = roomOf(who, step, rooms);
      const leaveRoom = roomOf(who, step - held, rooms);
      step++;
      pending = 3;
      c.send(`42${nextId++}["join","${joinRoom}"]`);
      c.send(`42${nextId++}["say","${joinRoom}",{"from":${who},"text":"hi"}]`);
      c.send(`42${nextId++}["leave","${leaveRoom}"]`);
    };
    c.onack = (id) => {
      if (id !== expectedId) ctx.error(new Error(`ack ${id}, expected ${expectedId}`));
      expectedId = id + 1;
      ctx.stats.units++;
      if (--pending === 0 && ctx.running) cycle();
    };
    c.onevent = (data, start) => {
      if (data.compare(SAID, 0, SAID.length, start, start + SAID.length) !== 0) return ctx.error(new Error("unexpected event"));
      // socket.to(room) excludes the sender
      if (readInt(data, start + SAID.length).value === who) ctx.error(new Error("a client received its own room broadcast"));
      ctx.stats.deliveries++;
    };
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    cycle();
  });
}
