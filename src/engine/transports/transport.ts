/**
 * What the session and its transports know of each other. A transport moves
 * packets; the session (its host) owns state, heartbeat and the queue. A
 * transport reports to its host by direct calls: no events, no closures per
 * session or per packet.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { rethrowLater } from "../../core/rethrow.js";
import type { DecodedPacket, Packet } from "../packet.js";
import type { ResolvedOptions } from "../options.js";

export type TransportName = "polling" | "websocket";

/** Implemented by the session. @internal */
export interface TransportHost {
  /** A decoded packet (an error packet for undecodable input). */
  onTransportPacket(transport: Transport, packet: DecodedPacket): void;
  /** The transport failed; `message` is engine.io's description ("overlap from client", ...). */
  onTransportError(transport: Transport, message: string, cause?: unknown): void;
  /**
   * The transport is closed: `requested` when our own `close()` completed,
   * false when the client (or the network) closed it.
   */
  onTransportClose(transport: Transport, requested: boolean): void;
  /** The transport became writable: a polling GET arrived, or a backed-up socket drained. */
  onTransportReady(transport: Transport): void;
  /**
   * Every packet of one polling POST has been delivered and its answer is
   * about to go out: what they produced may leave first (in the pending GET).
   */
  onTransportDelivered(transport: Transport): void;
}

/** What transports need from the server. @internal */
export interface EngineContext {
  readonly opts: ResolvedOptions;
  /** Adds the cookie (handshake only) and emits `initial_headers` / `headers`. */
  emitResponseHeaders(headers: OutgoingHttpHeaders, req: IncomingMessage, sid: string | undefined): void;
}

export abstract class Transport {
  abstract readonly name: TransportName;
  /** Whether a packet handed over now leaves without waiting. */
  writable = false;
  readyState: "open" | "closing" | "closed" = "open";
  /** The session id, once the session exists. */
  sid: string | undefined;
  /** Engine.IO revision spoken on this transport. */
  readonly protocol: 3 | 4;
  /** False when the client asked for base64 (`b64` query parameter). */
  readonly supportsBinary: boolean;
  /** @internal */
  host: TransportHost | null = null;
  /** When set, an orderly close skips waiting for the client. */
  discarded = false;
  /**
   * How the client (or the network) ended this transport, when it did and
   * it is known: the WebSocket close code it sent, or the socket's error
   * code. Read by the session for the disconnect cause. @internal
   */
  peerClose: { wsCode?: number; errno?: string } | null = null;

  constructor(protocol: 3 | 4, supportsBinary: boolean) {
    this.protocol = protocol;
    this.supportsBinary = supportsBinary;
  }

  /** Bytes handed to this transport that the kernel has not taken yet. */
  abstract get pendingBytes(): number;

  /**
   * What remains in `pendingBytes` of the last large write given to
   * `send()`: the slow-consumer rule does not count it (../outbound-queue.ts).
   */
  get largePendingBytes(): number {
    return 0;
  }

  /**
   * Writes `packets` (in one write where the transport allows it). `callbacks`
   * run once they have been handed to the kernel. With `closeAfter`, the
   * transport closes behind them (polling: the close packet waits for the
   * next GET). `packets[largeFrom..largeTo]`, when given, are the large
   * write: the transport reports what remains of them in
   * `largePendingBytes` until they have drained.
   *
   * Throws only if a packet cannot be encoded, before anything of the batch
   * was written; the session then closes.
   * @internal
   */
  abstract send(
    packets: Packet[],
    callbacks: Array<() => void> | null,
    closeAfter: boolean,
    largeFrom?: number,
    largeTo?: number,
  ): void;

  /** Orderly close; the host hears `onTransportClose` when it is done. */
  abstract close(): void;

  discard(): void {
    this.discarded = true;
  }

  /**
   * Ends the transport at once, dropping whatever it still holds for the
   * client (a client that stopped reading would never take it).
   */
  abort(): void {
    this.discard();
    this.close();
  }

  /** Marks the transport closed and tells the host, once. */
  protected finishClose(): void {
    if (this.readyState === "closed") return;
    const requested = this.readyState === "closing";
    this.readyState = "closed";
    this.writable = false;
    const host = this.host;
    if (host) host.onTransportClose(this, requested);
  }
}

/** Where a large write ends in the bytes a transport was ever given, and its size (see `largePendingBytes`). */
export interface LargeFrames {
  end: number;
  size: number;
}

/** What remains of `large` once `drained` of the bytes given to the transport have left. */
export function largeLeft(large: LargeFrames | null, drained: number): number {
  if (large === null) return 0;
  const left = large.end - drained;
  return left <= 0 ? 0 : left < large.size ? left : large.size;
}

/** Runs send callbacks (engine.io passes the transport); one throwing does not stop the others. */
export function runCallbacks(callbacks: Array<(transport?: Transport) => void>, transport: Transport): void {
  for (let i = 0; i < callbacks.length; i++) {
    try {
      callbacks[i](transport);
    } catch (err) {
      rethrowLater(err);
    }
  }
}
