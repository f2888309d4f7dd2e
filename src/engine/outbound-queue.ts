/**
 * A session's outbound queue, and the slow-consumer rule that bounds it
 * (maxBufferedBytes).
 *
 * The rule judges the backlog a client does not drain, never the size of
 * what is being written. Packets queued between two flushes (one
 * event-loop turn, usually) form one write. Each packet is admitted if what
 * earlier writes left that the client has not drained yet (still queued,
 * or handed to the transport and not yet taken by the kernel) is within
 * the limit; otherwise the session closes with "buffer overflow". A write
 * that takes the backlog past the limit is admitted whole and becomes "the
 * large write": what remains of it is not counted until it has drained
 * (once handed over, the transport tracks it), so messages of any size
 * reach a client that reads, and packets may follow them. A client that
 * does not read therefore costs at most maxBufferedBytes plus two writes:
 * the large one and the one under way.
 *
 * Sizes here are UTF-16 code units for strings and bytes for Buffers, plus
 * one per packet (its type); transports count what they hold in bytes.
 */
import type { Packet } from "./packet.js";
import type { Transport } from "./transports/transport.js";

export class OutboundQueue {
  /** Packets waiting for the transport, in order. */
  packets: Packet[] = [];
  /** The size of `packets`. */
  bytes = 0;
  /** Send callbacks of the queued packets (run once their batch was written). */
  callbacks: Array<() => void> | null = null;
  /**
   * After `take()`: the packets of the batch that form the large write,
   * `packets[largeFrom..largeTo]`, or -1 when the batch holds none.
   */
  largeFrom = -1;
  largeTo = -1;
  /** Bytes queued since the last flush (the write under way, not judged yet), from packet #currentFrom. */
  #current = 0;
  #currentFrom = 0;
  /** The large write while it is still queued (one the transport could not take yet): size and packets. */
  #largeQueued = 0;
  #largeQueuedFrom = 0;
  #largeQueuedTo = 0;
  /** The transport tracks the large write: it reports what remains of it. */
  #largeSent = false;

  /** What earlier writes left that the client has not drained, the large write aside. */
  backlog(transport: Transport): number {
    let bytes = this.bytes - this.#current - this.#largeQueued + transport.pendingBytes;
    if (this.#largeSent) bytes -= transport.largePendingBytes;
    return bytes;
  }

  /** Everything waiting for the client but the large write: volatile packets are judged on it. */
  waiting(transport: Transport): number {
    return this.backlog(transport) + this.#current;
  }

  push(packet: Packet, callback: (() => void) | undefined): void {
    const data = packet.data;
    const size = data === undefined ? 1 : data.length + 1;
    if (this.#current === 0) this.#currentFrom = this.packets.length;
    this.packets.push(packet);
    this.bytes += size;
    this.#current += size;
    if (callback !== undefined) (this.callbacks ??= []).push(callback);
  }

  /** The transport cannot take the queue now: the write under way ends, and waits with the rest. */
  hold(transport: Transport, max: number): void {
    if (this.#endsLarge(transport, max)) {
      // An earlier large write, queued or draining, counts in full from now on.
      this.#largeQueued = this.#current;
      this.#largeQueuedFrom = this.#currentFrom;
      this.#largeQueuedTo = this.packets.length - 1;
      this.#largeSent = false;
    }
    this.#current = 0;
  }

  /**
   * Empties the queue for a flush (read `packets` and `callbacks` first);
   * sets `largeFrom`/`largeTo` for the batch. When they are set, the
   * transport tracks that write from now on.
   */
  take(transport: Transport, max: number): void {
    if (this.#endsLarge(transport, max)) {
      this.largeFrom = this.#currentFrom;
      this.largeTo = this.packets.length - 1;
    } else if (this.#largeQueued > 0) {
      this.largeFrom = this.#largeQueuedFrom;
      this.largeTo = this.#largeQueuedTo;
    } else {
      this.largeFrom = this.largeTo = -1;
    }
    if (this.largeFrom !== -1) this.#largeSent = true;
    this.packets = [];
    this.bytes = 0;
    this.callbacks = null;
    this.#current = 0;
    this.#largeQueued = 0;
  }

  /** The session moved to another transport: what the previous one held is gone with it. */
  transportChanged(): void {
    this.#largeSent = false;
  }

  clear(): void {
    this.packets = [];
    this.bytes = 0;
    this.callbacks = null;
    this.#current = 0;
    this.#largeQueued = 0;
    this.#largeSent = false;
  }

  /** Whether the write under way takes the backlog past `max` (it is then the new large write). */
  #endsLarge(transport: Transport, max: number): boolean {
    return this.#current > 0 && this.backlog(transport) + this.#current > max;
  }
}

/** Why a session closed with "buffer overflow", and what to do about it. */
export function overflowError(backlog: number, max: number): Error {
  return new Error(
    `${backlog} bytes that this client has not read yet were still waiting when more came, more than ` +
      `maxBufferedBytes (${max}): it does not read fast enough. Raise maxBufferedBytes, or send less to slow ` +
      'clients (socket.conn.bufferedAmount and its "drain" event tell how much waits).',
  );
}
