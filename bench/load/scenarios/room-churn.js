// room-churn: every client is a member of `held` rooms at all times and
// churns through them: each cycle sends, in one write, join(next room),
// say(that room) and leave(its oldest room), then waits for the three acks.
// `say` broadcasts to the other members of the room; with `rooms` rooms and
// `held` rooms per client, a room has about clients*held/rooms members.
// Unit: one acknowledged operation (join, say or leave). Broadcasts received
// by room members are counted separately as deliveries.
import { connectWs, runBounded } from "../connect.js";

const SAID = Buffer.from('["said"');

let clients = [];

/** Room of client `i` at step `k` of its walk (spread so rooms share members). */
const roomOf = (i, k, rooms) => `r${(i * 37 + k * 101) % rooms}`;

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
      if (data.compare(SAID, 0, SAID.length, start, start + SAID.length) !== 0) ctx.error(new Error("unexpected event"));
      ctx.stats.deliveries++;
    };
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    cycle();
  });
}
