// polling-echo: polling-only sessions; each keeps `inFlight` `echo` events
// with acks in flight. Emits queued while a POST is in flight go out together
// in the next POST; acks come back in held GET responses.
// Unit: one ack received.
import { runBounded } from "../connect.js";
import { SioPollingClient } from "../polling-client.js";

const PAYLOAD = JSON.stringify({ user: "bench", text: "hello, echo this back", n: 42 });

/** @type {SioPollingClient[]} */
let clients = [];

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency } = ctx.params;
  clients = await runBounded(
    n,
    concurrency,
    async () => {
      const c = new SioPollingClient({ port: ctx.port });
      try {
        await c.open();
      } catch (err) {
        c.close();
        throw err;
      }
      c.onerror = (err) => ctx.error(err);
      return c;
    },
    30000,
  );
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
    for (let k = 0; k < inFlight; k++) c.send(`42${nextId++}["echo",${PAYLOAD}]`);
  }
}
