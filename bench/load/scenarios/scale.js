// scale: many idle WebSocket connections on one server (18,000 in full mode),
// the load spread over several load processes (each far under the per-process
// open-file limit), each process connecting from its own loopback source
// address (127.0.0.2, 127.0.0.3, …: each address has its own ephemeral ports).
// `warmup` sessions are opened during setup (so lazily built server state is
// in the memory baseline); `start` is the connect storm; the connections then
// stay idle. Unit of the storm: one connected client.
//
// Besides the storm, the runner calls (worker command `call`):
//   awaitBroadcast { seq, timeoutMs } → once every client of this process has
//     the server's broadcast number `seq`: each client's latency in µs, from
//     the timestamp in the payload (the server's CLOCK_MONOTONIC, which every
//     process of the machine shares) to when the client handled the frame.
// Pings received are counted in stats.deliveries (the heartbeat window).
// The clients are lean-ws-client.js's: a fraction of ws-client.js's CPU per
// received message, so that the load processes, which share one core, keep
// up with the server's 18,000 writes of one broadcast.
import { runBounded } from "../connect.js";
import { connectLean } from "../lean-ws-client.js";
import { readInt } from "../protocol.js";

/** `["blast",{"t":` : the fixed start of a broadcast, before its timestamp. */
const BLAST_PREFIX = Buffer.from('["blast",{"t":');
const SEQ_KEY = Buffer.from(',"s":');

/** @type {import("../lean-ws-client.js").LeanWsClient[]} */
let warm = [];
/** @type {import("../lean-ws-client.js").LeanWsClient[]} */
let clients = [];
/**
 * Broadcasts being collected, by seq: each client's latency (µs, NaN until it
 * arrived), how many arrived, and who waits for the rest.
 * @type {Map<number, { latencies: Float64Array, arrived: number, done: (() => void) | null }>}
 */
const broadcasts = new Map();

/** The same clock as bench/server.js's timestamps, in µs (fractional). */
function monotonicUs() {
  const [sec, ns] = process.hrtime();
  return sec * 1e6 + ns / 1e3;
}

/** Source address of load process `index`: 127.0.0.2, 127.0.0.3, … */
function sourceAddress(index) {
  return `127.0.0.${2 + index}`;
}

/** Connections this process may have opening at once: its share of the scenario's. */
function concurrencyShare(ctx) {
  return Math.max(1, Math.round(ctx.params.concurrency / ctx.count));
}

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const localAddress = sourceAddress(ctx.index);
  warm = await runBounded(ctx.params.warmup, concurrencyShare(ctx), () => connectLean(ctx.port, ctx.error, localAddress), 30000);
  for (const c of warm) watch(ctx, c, -1);
}

/** @param {import("../worker.js").LoadContext} ctx */
export async function start(ctx) {
  const { clients: n, timeoutMs } = ctx.params;
  const localAddress = sourceAddress(ctx.index);
  const list = await runBounded(
    n,
    concurrencyShare(ctx),
    () =>
      connectLean(ctx.port, ctx.error, localAddress).then((c) => {
        ctx.stats.units++;
        return c;
      }),
    timeoutMs,
  );
  clients = list;
  clients.forEach((c, i) => watch(ctx, c, i));
}

/**
 * @param {import("../worker.js").LoadContext} ctx
 * @param {import("../lean-ws-client.js").LeanWsClient} c
 * @param {number} i index among the measured clients (-1: a warm-up client, not counted)
 */
function watch(ctx, c, i) {
  c.onping = () => ctx.stats.deliveries++;
  c.onclose = () => ctx.error(new Error("client closed while idle"));
  c.onevent = (data, start) => {
    const now = monotonicUs();
    for (let k = 0; k < BLAST_PREFIX.length; k++) {
      if (data[start + k] !== BLAST_PREFIX[k]) return ctx.error(new Error("unexpected event"));
    }
    const t = readInt(data, start + BLAST_PREFIX.length);
    if (data.compare(SEQ_KEY, 0, SEQ_KEY.length, t.end, t.end + SEQ_KEY.length) !== 0) return ctx.error(new Error("broadcast without its number"));
    if (i < 0) return;
    const entry = broadcastEntry(readInt(data, t.end + SEQ_KEY.length).value);
    if (!Number.isNaN(entry.latencies[i])) return ctx.error(new Error(`client ${i}: broadcast received twice`));
    entry.latencies[i] = now - t.value;
    if (++entry.arrived === clients.length) entry.done?.();
  };
}

function broadcastEntry(seq) {
  let entry = broadcasts.get(seq);
  if (entry === undefined) {
    entry = { latencies: new Float64Array(clients.length).fill(NaN), arrived: 0, done: null };
    broadcasts.set(seq, entry);
  }
  return entry;
}

/** Worker commands the runner calls by name (`call`). */
export const commands = {
  /**
   * Resolves once every measured client of this process has broadcast `seq`
   * (whether it arrived before or after this call), with their latencies (µs).
   * @param {import("../worker.js").LoadContext} _ctx
   * @param {{ seq: number, timeoutMs: number }} args
   */
  awaitBroadcast(_ctx, { seq, timeoutMs }) {
    const entry = broadcastEntry(seq);
    const finish = () => {
      broadcasts.delete(seq);
      return Array.from(entry.latencies);
    };
    if (entry.arrived === clients.length) return finish();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.done = null;
        reject(new Error(`broadcast ${seq}: ${clients.length - entry.arrived} of ${clients.length} clients had nothing after ${timeoutMs} ms`));
      }, timeoutMs);
      entry.done = () => {
        clearTimeout(timer);
        resolve(finish());
      };
    });
  },
};
