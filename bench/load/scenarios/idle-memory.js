// idle-memory: `warmup` sessions are opened during setup (so lazily built
// server state is already in the baseline), then `clients` more WebSocket
// sessions connected to `/` during the window; they stay idle. The server
// measures heap and RSS after forced GC before and after.
// Unit: one connected client.
import { connectWs, runBounded } from "../connect.js";

let warm = [];
let clients = [];

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { warmup, concurrency } = ctx.params;
  warm = await runBounded(warmup, concurrency, () => connectWs(ctx.port, ctx.error), 30000);
}

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
