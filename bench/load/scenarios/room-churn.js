// room-churn: every client loops join(room) → say(room) → leave(room) with a
// new room each cycle, one request in flight per client. `say` broadcasts to
// the other members of the room (rooms hold a handful of clients at a time).
// Unit: one acknowledged operation (join, say or leave). Broadcasts received
// by room members are counted separately as deliveries.
import { connectWs, runBounded } from "../connect.js";

const SAID = Buffer.from('["said"');

let clients = [];

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency } = ctx.params;
  clients = await runBounded(n, concurrency, () => connectWs(ctx.port, ctx.error), 30000);
}

/** @param {import("../worker.js").LoadContext} ctx */
export function start(ctx) {
  const { rooms } = ctx.params;
  const offset = ctx.index * clients.length;
  clients.forEach((c, i) => {
    let nextId = 0;
    let expectedId = 0;
    let step = 0;
    let room = (offset + i) % rooms;
    const next = () => {
      const id = nextId++;
      if (step === 0) c.send(`42${id}["join","r${room}"]`);
      else if (step === 1) c.send(`42${id}["say","r${room}",{"from":${i},"text":"hi"}]`);
      else c.send(`42${id}["leave","r${room}"]`);
    };
    c.onack = (id) => {
      if (id !== expectedId) ctx.error(new Error(`ack ${id}, expected ${expectedId}`));
      expectedId = id + 1;
      ctx.stats.units++;
      if (step === 2) room = (room + 7) % rooms;
      step = (step + 1) % 3;
      if (ctx.running) next();
    };
    c.onevent = (data, start) => {
      if (data.compare(SAID, 0, SAID.length, start, start + SAID.length) !== 0) ctx.error(new Error("unexpected event"));
      ctx.stats.deliveries++;
    };
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    next();
  });
}
