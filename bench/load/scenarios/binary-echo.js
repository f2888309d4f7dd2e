// binary-echo: each client keeps `inFlight` `bin` events in flight, each
// carrying one Buffer of `size` bytes as a binary attachment; the server acks
// with the same Buffer. Unit: one echoed buffer; bytes: its size (MB/s is
// computed from the bytes echoed back).
import { connectWs, runBounded } from "../connect.js";
import { encodeBinaryEventHeader } from "../protocol.js";

let clients = [];

/** @param {import("../worker.js").LoadContext} ctx */
export async function setup(ctx) {
  const { clients: n, concurrency, largeReads } = ctx.params;
  clients = await runBounded(n, concurrency, () => connectWs(ctx.port, ctx.error, { largeReads: largeReads === 1 }), 30000);
}

/** @param {import("../worker.js").LoadContext} ctx */
export function start(ctx) {
  const { inFlight, size } = ctx.params;
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31) & 0xff;
  for (const c of clients) {
    let nextId = 0;
    let expectedId = 0;
    const emit = () => c.sendBinary(encodeBinaryEventHeader("bin", [], 1, nextId++), [buffer]);
    c.onbinaryack = (id, header, attachments) => {
      if (id !== expectedId) ctx.error(new Error(`ack ${id}, expected ${expectedId}`));
      expectedId = id + 1;
      if (attachments.length !== 1 || attachments[0].length !== size) {
        ctx.error(new Error("echoed attachment has the wrong size"));
      }
      ctx.stats.units++;
      ctx.stats.bytes += attachments[0].length;
      if (ctx.running) emit();
    };
    c.onclose = () => {
      if (ctx.running) ctx.error(new Error("client closed during the run"));
    };
    for (let k = 0; k < inFlight; k++) emit();
  }
}
