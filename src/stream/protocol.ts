/**
 * The stream protocol spoken over an ordinary Socket.IO socket, and the
 * checks applied to every message from the peer (which is untrusted).
 *
 * Every control event starts with STREAM_EVENT_PREFIX. The application's
 * event name and arguments travel *inside* the `open` message, so stream
 * events never share a name with the application's own socket events.
 *
 * Sender → receiver                     Receiver → sender
 *   open  (id, event, args[])             credit (id, consumed, window)
 *   data  (id, chunk)                     done   (id)
 *   end   (id, totalBytes)                abort  (id, message, code)
 *   error (id, message, code)             received (totalBytes)   [per socket]
 *
 * Invariants:
 * - Stream ids are chosen by the sender, positive safe integers, strictly
 *   increasing per socket and direction (the two directions are separate id
 *   spaces: data/end/error address the receiver's streams, credit/done/abort
 *   the sender's). The receiver can thus tell a late message for a finished
 *   stream (id ≤ the last one opened: ignored) from one for a stream never
 *   opened (protocol error).
 * - Flow control: `credit` says how many bytes the receiver's reader has
 *   consumed and how far past that the sender may go; the sender never sends
 *   a byte at or past `consumed + window`, so sent − consumed ≤ window at all
 *   times.
 * - Delivery: `received` carries the cumulative data bytes the receiving
 *   side got on this connection, all streams together, at most once per
 *   event-loop turn. The sender keeps (data bytes sent − received) under
 *   maxBytesInFlight, which bounds the socket's send queue however many
 *   streams run. It depends on arrival, not on reading, so a stream nobody
 *   reads holds none of it and cannot block the others. Both counts restart
 *   at 0 with each connection.
 * - `end` carries the total byte count; the receiver checks it.
 * - `done` is sent once the reader has consumed every byte (`end` emitted on
 *   the receiving Readable); it completes the sender's `emit()` promise.
 * - Messages carry fixed leading arguments; trailing extra arguments are
 *   ignored (connection-state recovery appends an offset to server emits).
 */

export const STREAM_EVENT_PREFIX = "tidewire:stream:";

export const EV = {
  OPEN: `${STREAM_EVENT_PREFIX}open`,
  DATA: `${STREAM_EVENT_PREFIX}data`,
  END: `${STREAM_EVENT_PREFIX}end`,
  ERROR: `${STREAM_EVENT_PREFIX}error`,
  CREDIT: `${STREAM_EVENT_PREFIX}credit`,
  DONE: `${STREAM_EVENT_PREFIX}done`,
  ABORT: `${STREAM_EVENT_PREFIX}abort`,
  RECEIVED: `${STREAM_EVENT_PREFIX}received`,
} as const;

/** True for the names of tidewire/stream's control events (e.g. to skip them in `onAny`). */
export function isStreamEvent(event: unknown): boolean {
  return typeof event === "string" && event.startsWith(STREAM_EVENT_PREFIX);
}

/**
 * What `streams()` needs from a socket: our server Socket and a
 * socket.io-client Socket both qualify. A function as last argument of
 * `emit` is an ack callback (not used by this protocol).
 */
export interface SocketLike {
  emit(event: string, ...args: any[]): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  /** When present and false, the socket is not connected right now. */
  readonly connected?: boolean;
  /** socket.io-client only: true while the socket is connected or will (re)connect. */
  readonly active?: boolean;
}

/** Longest error text accepted from, or sent to, the peer. */
export const MAX_MESSAGE_LENGTH = 1024;

export function isStreamId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** A byte count or offset: a non-negative safe integer. */
export function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The peer's chunk as a Buffer (no copy), or null when it is not binary.
 * Node clients and servers decode attachments as Buffers; browsers send
 * ArrayBuffers or typed arrays.
 */
export function toChunk(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** An error text for the wire or from it: a bounded string. */
export function boundedMessage(value: unknown, fallback: string): string {
  if (typeof value !== "string" || value.length === 0) return fallback;
  return value.length > MAX_MESSAGE_LENGTH ? `${value.slice(0, MAX_MESSAGE_LENGTH)}…` : value;
}

/** An event name for inclusion in an error text. */
export function quoteEvent(event: string): string {
  return JSON.stringify(event.length > 100 ? `${event.slice(0, 100)}…` : event);
}
