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

/**
 * The queue of every session with nothing queued: an idle connection keeps
 * no array of its own. Never written to (push() replaces it first).
 */
const NO_PACKETS: Packet[] = [];

export class OutboundQueue {
  /** Packets waiting for the transport, in order. */
  packets: Packet[] = NO_PACKETS;
  /** The size of `packets`. */
  bytes = 0;
  /** Send callbacks of the queued packets (run once their batch was written). */
  callbacks: Array<() => void> | null = null;
  /** Bytes queued since the last flush (the write under way, not judged yet), from packet #currentFrom. */
  #current = 0;
  #currentFrom = 0;
  /** The large write, from the first time a write takes the backlog past the limit until it has drained. */
  #large: LargeWrite | null = null;

  /** What earlier writes left that the client has not drained, the large write aside. */
  backlog(transport: Transport): number {
    let bytes = this.bytes - this.#current + transport.pendingBytes;
    const large = this.#large;
    if (large !== null) {
      const left = large.sent ? transport.largePendingBytes : 0;
      bytes -= large.queued + left;
      // Drained: nothing is kept for it any more (the transport's count of it stays at 0).
      if (large.queued === 0 && left === 0) this.#large = null;
    }
    return bytes;
  }

  /**
   * After `take()`: the packets of the batch that form the large write,
   * `packets[largeFrom..largeTo]`, or -1 when the batch holds none.
   */
  get largeFrom(): number {
    return this.#large?.from ?? -1;
  }

  get largeTo(): number {
    return this.#large?.to ?? -1;
  }

  /**
   * The rule for the next packet: -1 when it is admitted, else the backlog
   * that refuses it. Judged once per write, at its first packet: while a
   * write is under way the backlog can only fall (the transport drains what
   * it holds; it is handed more only by take(), and a hold() starts a new
   * write), so a packet that follows an admitted one is admitted too.
   */
  admit(transport: Transport, max: number): number {
    if (this.#current > 0) return -1;
    const backlog = this.backlog(transport);
    return backlog > max ? backlog : -1;
  }

  push(packet: Packet, callback: (() => void) | undefined): void {
    const data = packet.data;
    const size = data === undefined ? 1 : data.length + 1;
    if (this.#current === 0) this.#currentFrom = this.packets.length;
    if (this.packets === NO_PACKETS) this.packets = [];
    this.packets.push(packet);
    this.bytes += size;
    this.#current += size;
    if (callback !== undefined) (this.callbacks ??= []).push(callback);
  }

  /** The transport cannot take the queue now: the write under way ends, and waits with the rest. */
  hold(transport: Transport, max: number): void {
    if (this.#endsLarge(transport, max)) {
      // An earlier large write, queued or draining, counts in full from now on.
      const large = (this.#large ??= new LargeWrite());
      large.queued = this.#current;
      large.from = this.#currentFrom;
      large.to = this.packets.length - 1;
      large.sent = false;
    }
    this.#current = 0;
  }

  /**
   * Empties the queue for a flush (read `packets` and `callbacks` first);
   * sets `largeFrom`/`largeTo` for the batch. When they are set, the
   * transport tracks that write from now on.
   */
  take(transport: Transport, max: number): void {
    const crossing = this.#endsLarge(transport, max);
    let large = this.#large;
    if (crossing) {
      large = this.#large ??= new LargeWrite();
      large.from = this.#currentFrom;
      large.to = this.packets.length - 1;
      large.sent = true;
    } else if (large !== null && large.queued > 0) {
      large.sent = true;
    } else if (large !== null) {
      // Still draining from an earlier batch: this one holds no part of it.
      large.from = large.to = -1;
    }
    if (large !== null) large.queued = 0;
    this.packets = NO_PACKETS;
    this.bytes = 0;
    this.callbacks = null;
    this.#current = 0;
  }

  /** The session moved to another transport: what the previous one held is gone with it. */
  transportChanged(): void {
    if (this.#large !== null && this.#large.queued === 0) this.#large = null;
  }

  clear(): void {
    this.packets = NO_PACKETS;
    this.bytes = 0;
    this.callbacks = null;
    this.#current = 0;
    this.#large = null;
  }

  /** Whether the write under way takes the backlog past `max` (it is then the new large write). */
  #endsLarge(transport: Transport, max: number): boolean {
    return this.#current > 0 && this.backlog(transport) + this.#current > max;
  }
}

/** The large write: while queued, its size and packets there; once handed over, that the transport tracks it. */
class LargeWrite {
  queued = 0;
  from = -1;
  to = -1;
  sent = false;
}

/** Why a session closed with "buffer overflow", and what to do about it. */
export function overflowError(backlog: number, max: number): Error {
  return new Error(
    `${backlog} bytes that this client has not read yet were still waiting when more came, more than ` +
      `maxBufferedBytes (${max}): it does not read fast enough. Raise maxBufferedBytes, or send less to slow ` +
      'clients (socket.conn.bufferedAmount and its "drain" event tell how much waits).',
  );
}
