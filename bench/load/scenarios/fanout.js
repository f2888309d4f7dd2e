// fanout: every client joins room "fan"; one driver client asks the server
// for bursts of broadcasts (`burst` event: the server emits
// `tick(seq, {...})` to the room `count` times). The driver keeps at most
// `window` bursts in flight; a burst is complete once every client received
// its last tick, so the server is kept busy without unbounded queues.
// Unit: one delivery (one tick received by one client). Every client checks
// that seqs arrive in order without gaps: a lost or duplicated tick counts
// as an error.
// cross-node runs the same client side against several nodes (ctx.ports):
// client i connects to node i mod N, so the driver (client 0) is on node A
// and node A's broadcasts reach the other nodes' clients through Redis.
import { connectWs, runBounded } from "../connect.js";
import { readInt } from "../protocol.js";

const TICK_PREFIX = Buffer.from('["tick",');

let clients = [];
let driver = null;
/** Clients still to receive the last tick of each in-flight burst (ring indexed by burst number). */
let remaining = [];
let nextSeq = 0;
let inFlight = 0;
let burstSize = 0;
let maxInFlight = 0;
let expected;

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency, burst, window } = ctx.params;
  burstSize = burst;
  maxInFlight = window;
  remaining = new Array(window * 2).fill(0);
  expected = new Int32Array(n);
  const ports = ctx.ports ?? [ctx.port];
  clients = await runBounded(n, concurrency, (i) => connectWs(ports[i % ports.length], ctx.error), 30000);
  await runBounded(
    n,
    concurrency,
    (i) =>
      new Promise((resolve, reject) => {
        const c = clients[i];
        c.onack = () => resolve();
        c.onclose = () => reject(new Error("closed while joining"));
        c.send('420["join","fan"]');
      }),
    30000,
  );
  clients.forEach((c, i) => {
    c.onack = () => ctx.error(new Error("unexpected ack"));
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    c.onevent = (data, start) => onTick(ctx, i, data, start);
  });
  driver = clients[0];
}

function onTick(ctx, i, data, start) {
  for (let k = 0; k < TICK_PREFIX.length; k++) {
    if (data[start + k] !== TICK_PREFIX[k]) return ctx.error(new Error("unexpected event"));
  }
  const seq = readInt(data, start + TICK_PREFIX.length).value;
  if (seq !== expected[i]) ctx.error(new Error(`client ${i}: tick ${seq}, expected ${expected[i]}`));
  expected[i] = seq + 1;
  ctx.stats.units++;
  if ((seq + 1) % burstSize !== 0) return;
  const slot = ((seq + 1) / burstSize - 1) % remaining.length;
  if (--remaining[slot] === 0) {
    inFlight--;
    if (ctx.running) sendBursts();
  }
}

function sendBursts() {
  while (inFlight < maxInFlight) {
    const slot = (nextSeq / burstSize) % remaining.length;
    remaining[slot] = clients.length;
    driver.send(`42["burst",${nextSeq},${burstSize}]`);
    nextSeq += burstSize;
    inFlight++;
  }
}

/** @param {import("../worker.js").LoadContext} ctx */
export function start(ctx) {
  if (ctx.count !== 1) throw new Error("fanout completion is tracked in one process: run it with one load worker");
  sendBursts();
}
