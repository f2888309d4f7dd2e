// fanout-distinct: every client joins room "fan"; one driver client asks the
// server for a blast: `count` broadcasts, `perTurn` of them per event-loop turn
// (the server's `blast` handler), each carrying a fresh object
// `{ t: <timestamp>, s: <sequence>, d: <60-character string> }`, so nothing can
// be encoded once for several broadcasts. A warm-up blast runs during setup
// (not measured); the measured storm is one blast, from the driver's request
// until every client has its last tick.
// Unit: one delivery (one tick received by one client). Every client checks
// that `s` arrives in order without gaps or duplicates.
import { connectWs, runBounded } from "../connect.js";
import { readInt } from "../protocol.js";

/** `["tick",{"t":` : the fixed start of every tick, before the timestamp digits. */
const TICK_PREFIX = Buffer.from('["tick",{"t":');
/** What follows the timestamp: the sequence number. */
const SEQ_KEY = Buffer.from(',"s":');
/** Broadcasts of the warm-up blast (setup, not measured). */
const WARMUP_BROADCASTS = 100;

let clients = [];
let driver = null;
/** Next `s` each client expects. */
let expected;
/** Clients that still miss the last tick of the current blast. */
let remaining = 0;
/** `s` of the current blast's last tick. */
let lastSeq = -1;
/** Next blast's first `s`. */
let nextSeq = 0;
/** @type {(() => void) | null} */
let onBlastDone = null;

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency } = ctx.params;
  expected = new Int32Array(n);
  clients = await runBounded(n, concurrency, () => connectWs(ctx.port, ctx.error), 30000);
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
  await blast(ctx, WARMUP_BROADCASTS);
}

function onTick(ctx, i, data, start) {
  for (let k = 0; k < TICK_PREFIX.length; k++) {
    if (data[start + k] !== TICK_PREFIX[k]) return ctx.error(new Error("unexpected event"));
  }
  const t = readInt(data, start + TICK_PREFIX.length);
  for (let k = 0; k < SEQ_KEY.length; k++) {
    if (data[t.end + k] !== SEQ_KEY[k]) return ctx.error(new Error("tick without its sequence number"));
  }
  const seq = readInt(data, t.end + SEQ_KEY.length).value;
  if (seq !== expected[i]) ctx.error(new Error(`client ${i}: tick ${seq}, expected ${expected[i]}`));
  expected[i] = seq + 1;
  ctx.stats.units++;
  if (seq === lastSeq && --remaining === 0) onBlastDone?.();
}

/**
 * Asks for one blast of `count` broadcasts and resolves once every client has
 * its last tick.
 */
function blast(ctx, count) {
  const { perTurn, timeoutMs } = ctx.params;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onBlastDone = null;
      reject(new Error(`blast not delivered within ${timeoutMs} ms: ${remaining} clients still waiting`));
    }, timeoutMs);
    onBlastDone = () => {
      clearTimeout(timer);
      onBlastDone = null;
      resolve();
    };
    remaining = clients.length;
    lastSeq = nextSeq + count - 1;
    driver.send(`42["blast",${nextSeq},${count},${perTurn}]`);
    nextSeq += count;
  });
}

/** @param {import("../worker.js").LoadContext} ctx */
export async function start(ctx) {
  if (ctx.count !== 1) throw new Error("fanout-distinct completion is tracked in one process: run it with one load worker");
  await blast(ctx, ctx.params.broadcasts);
}
