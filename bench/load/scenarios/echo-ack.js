// echo-ack: each client keeps `inFlight` `echo` events with acks in flight;
// the server acks with the same data; every ack triggers the next emit.
// Unit: one ack received. Acks must come back in order per client.
import { connectWs, runBounded } from "../connect.js";

const PAYLOAD = JSON.stringify({ user: "bench", text: "hello, echo this back", n: 42 });

let clients = [];

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency } = ctx.params;
  clients = await runBounded(n, concurrency, () => connectWs(ctx.port, ctx.error), 30000);
}

/** @param {import("../worker.js").LoadContext} ctx */
export function start(ctx) {
  const { inFlight } = ctx.params;
  for (const c of clients) {
    let nextId = 0;
    let expectedId = 0;
    c.onack = (id) => {
      if (id !== expectedId) ctx.error(new Error(`ack ${id}, expected ${expectedId}`));
      expectedId = id + 1;
      ctx.stats.units++;
      if (ctx.running) c.send(`42${nextId++}["echo",${PAYLOAD}]`);
    };
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    for (let k = 0; k < inFlight; k++) c.send(`42${nextId++}["echo",${PAYLOAD}]`);
  }
}
