// connect-polling: a storm of sessions opened the way the official client does
// by default: polling handshake, CONNECT over polling, upgrade to WebSocket
// (probe, noop, `5`), then one acknowledged event over the WebSocket.
// Unit: one upgraded client. At most `concurrency` in flight.
import { connectPollingThenUpgrade, runBounded } from "../connect.js";

let clients = [];

export async function setup() {}

/** @param {import("../worker.js").LoadContext} ctx */
export async function start(ctx) {
  const { clients: n, concurrency, timeoutMs } = ctx.params;
  clients = await runBounded(
    n,
    concurrency,
    () =>
      connectPollingThenUpgrade(ctx.port, ctx.error).then((c) => {
        ctx.stats.units++;
        return c;
      }),
    timeoutMs,
  );
}
