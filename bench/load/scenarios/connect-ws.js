// connect-ws: a storm of direct WebSocket sessions; each counts once its
// CONNECT to `/` is answered. At most `concurrency` handshakes are in flight.
// Unit: one connected client. The sessions stay open until the run ends.
import { connectWs, runBounded } from "../connect.js";

/** @type {import("../ws-client.js").SioWsClient[]} */
let clients = [];

export async function setup() {}

/** @param {import("../worker.js").LoadContext} ctx */
export async function start(ctx) {
  const { clients: n, concurrency, timeoutMs } = ctx.params;
  clients = await runBounded(
    n,
    concurrency,
    () =>
      connectWs(ctx.port, ctx.error).then((c) => {
        ctx.stats.units++;
        return c;
      }),
    timeoutMs,
  );
}
