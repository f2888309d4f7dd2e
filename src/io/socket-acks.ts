import { timers, type TimerEntry } from "../core/timers.js";
import type { Packet } from "./protocol/packet.js";
import type { Socket } from "./socket.js";
import type { AckHistogram } from "../observe/counters.js";

/**
 * The acknowledgements a socket waits for: callbacks of the server's emits,
 * kept in the socket's `acks` map (which adapters also read and write) until
 * the client's ACK arrives or, with a timeout, the timeout expires.
 * Answering the client's own acks is part of sending (socket-emit.ts).
 */

type AnySocket = Socket<any, any, any, any>;

/**
 * Registers the callback of the server's emit `id`. With a timeout it is
 * called once, as `ack(err)` on expiry or `ack(null, ...args)` on the
 * answer; without one as `ack(...args)`.
 */
export function registerAck(
  socket: AnySocket,
  id: number,
  ack: (...args: any[]) => void,
  timeout: number | undefined,
): void {
  const counters = socket.nsp.server.counters;
  const rtt = counters.ackRtt;
  // Round-trip sampling is off (0) until tidewire/metrics asks for it.
  if (rtt.sampleEvery !== 0 && ++rtt.seq % rtt.sampleEvery === 0) ack = timed(ack, rtt);
  if (timeout === undefined) {
    socket.acks.set(id, ack);
    return;
  }
  const entry: TimerEntry = {
    onTimeout: () => {
      counters.ackTimeouts++;
      socket.acks.delete(id);
      ack.call(socket, new Error("operation has timed out"));
    },
  };
  timers.arm(entry, timeout);
  socket.acks.set(id, (...args: any[]) => {
    timers.disarm(entry);
    ack.call(socket, null, ...args);
  });
}

/** `ack`, observing the time until it is called (an answer) in `histogram`. */
function timed(ack: (...args: any[]) => void, histogram: AckHistogram): (...args: any[]) => void {
  const start = performance.now();
  return function (this: unknown, ...args: any[]) {
    // A timeout calls with an Error first: only answers are round trips.
    if (!(args[0] instanceof Error)) histogram.observe((performance.now() - start) / 1000);
    return ack.apply(this, args);
  };
}

/**
 * An incoming ACK runs its pending callback once. `acks` is the socket's map
 * if it has one (an ACK must not create it); unknown or already answered ids
 * are ignored.
 */
export function settleAck(socket: AnySocket, acks: Map<number, (...args: any[]) => void> | undefined, packet: Packet): void {
  const ack = acks?.get(packet.id as number);
  if (typeof ack !== "function") return;
  acks!.delete(packet.id as number);
  ack.apply(socket, packet.data ?? []);
}

/** The ack callback behind emitWithAck: `(err, response)` with a timeout, `(response)` without. */
export function promiseAck(
  withTimeout: boolean,
  resolve: (response: any) => void,
  reject: (err: Error) => void,
): (...args: any[]) => void {
  return withTimeout
    ? (err: Error | null, response: any) => (err ? reject(err) : resolve(response))
    : (response: any) => resolve(response);
}
