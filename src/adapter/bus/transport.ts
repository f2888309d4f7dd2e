/**
 * The seam between the cluster core (BusAdapter) and a bus: Redis pub/sub,
 * Redis sharded pub/sub, Redis streams, node:cluster IPC... A transport moves
 * ClusterMessages between the nodes of one namespace; a codec turns them into
 * the bytes (or objects) its wire carries and back.
 *
 * The core never sees wire formats: it publishes ClusterMessages, and the
 * transport hands it every ClusterMessage it receives (`host.receive` for
 * messages, `host.receiveResponse` for answers to this node's requests).
 * Everything received is untrusted: the core checks it before acting.
 */
import type { NodeLink } from "../../forward/index.js";
import type { Room } from "../types.js";
import type { ClusterMessage } from "./messages.js";

/** What the core offers its transport. */
export interface BusHost {
  /** This node's id in the cluster (one per namespace adapter). */
  readonly uid: string;
  /** The namespace served. */
  readonly nsp: string;
  /** Whether a socket of this node is in `room` (lets a transport skip a broadcast unread). */
  hasRoom(room: Room): boolean;
  /**
   * A message from the bus. `offset` is its position in an ordered log
   * (`ordered` transports), used as connection-state-recovery offset.
   * Messages from this node are ignored, except broadcasts read back from
   * an ordered log (see BusTransport.ordered).
   */
  receive(message: unknown, offset?: string): void;
  /** An answer to one of this node's requests (or to another node's: ignored). */
  receiveResponse(response: unknown): void;
  /**
   * The MessageType of this node's pending request `requestId`, or
   * undefined: for codecs whose responses do not carry their type.
   */
  requestType(requestId: string): number | undefined;
}

/** What a transport supplies. */
export interface BusTransport {
  /**
   * Sends `message` to every other node of the namespace. Encodes at once:
   * a message that cannot be encoded throws synchronously. Resolves with the
   * message's offset in an ordered log, or "" when the transport keeps none.
   */
  publish(message: ClusterMessage): Promise<string>;
  /** Sends `response` to node `requesterUid` (at least; others ignore it). Encodes at once, like publish. */
  publishResponse(requesterUid: string, response: ClusterMessage): Promise<void>;
  /**
   * How many nodes serve the namespace, this one included, when the bus can
   * count them (Redis: subscribers of a channel). Without it the core counts
   * nodes by heartbeats (INITIAL_HEARTBEAT, HEARTBEAT, ADAPTER_CLOSE), as
   * socket.io-adapter's ClusterAdapterWithHeartbeat does.
   */
  serverCount?(): Promise<number>;
  /**
   * Broadcasts travel through an ordered log that every node reads back,
   * this one included, and `publish` resolves with their offset: with
   * connection state recovery on, the core then delivers its own recoverable
   * broadcasts when they come back from the log, so every node delivers in
   * log order and a client's last offset says exactly what it has.
   */
  readonly ordered?: boolean;
  /** The wire carries MessageType.ALL_ROOMS and SOCKETS requests. */
  readonly extendedRequests?: boolean;
  /**
   * Point-to-point messages between nodes for session forwarding (the
   * transport of the main namespace is asked once). Transports without it
   * do not forward sessions.
   */
  link?(): NodeLink;
  /** Resolves once messages are received (subscriptions confirmed). Never rejects. */
  init(): Promise<void>;
  /** Stops receiving and releases what the transport holds. Never rejects. */
  close(): Promise<void>;
}

/** Turns ClusterMessages into a wire form `W` and back. */
export interface BusCodec<W> {
  encode(message: ClusterMessage): W;
  /** A message from the wire; throws on malformed input (the caller logs and drops it). */
  decode(wire: W): ClusterMessage;
}
