/**
 * The snapshot `io.stats()` returns: counters since the server started
 * (they only grow) and gauges read at the call. Plain data, safe to
 * serialize.
 */
import type { DisconnectCauseCode } from "./causes.js";
import type { CauseTable, EventRefusalCause, PerTransport, RefusalCause } from "./counters.js";

export interface NamespaceStats {
  /** Sockets connected now, by transport (gauge). */
  sockets: PerTransport;
  /** Sockets that connected since the start. */
  connections: number;
  /** Sockets that disconnected, by cause and transport. */
  disconnects: CauseTable;
}

export interface AckRttStats {
  /** Time one ack in this many (0: not timed; `tidewire/metrics` turns it on). */
  sampleEvery: number;
  /** Bucket upper bounds in seconds; `counts` has one more entry, for +Inf. */
  buckets: readonly number[];
  /** Sampled acks per bucket (not cumulative). */
  counts: number[];
  /** Sum of the sampled round trips, in seconds. */
  sum: number;
  count: number;
}

export interface ServerStats {
  /** Engine.IO sessions open now, by current transport (gauge). */
  sessions: PerTransport;
  /** Per namespace name (namespaces that were removed keep their counters). */
  namespaces: Record<string, NamespaceStats>;
  /** Sessions opened, by the transport they started on. */
  handshakes: PerTransport;
  /** Handshakes refused before a session existed (drain, `limits`), by cause. */
  handshakeRefusals: Record<RefusalCause, number>;
  /** Polling sessions upgraded to WebSocket. */
  upgrades: number;
  /** Engine.IO messages received and queued for sending. */
  packetsIn: number;
  packetsOut: number;
  /** Their payload sizes (text in UTF-16 code units), framing and HTTP headers excluded. */
  bytesIn: number;
  bytesOut: number;
  /** Broadcasts emitted on this node. */
  broadcasts: number;
  /** Packets written to clients by the adapter (each recipient of a broadcast once). */
  deliveries: number;
  /** Bytes waiting for clients now, queued or in the kernel's hands (gauge). */
  sendBufferBytes: number;
  /** Sessions closed because their client did not read (maxBufferedBytes). */
  overflowCloses: number;
  /** Acknowledgements that timed out. */
  ackTimeouts: number;
  /** Engine.IO sessions closed, by cause and transport (sockets are in `namespaces`). */
  sessionCloses: CauseTable;
  /** Socket disconnects of every namespace together, by cause. */
  disconnects: Record<DisconnectCauseCode, number>;
  ackRtt: AckRttStats;
  /** Whether `io.drain()` was called. */
  draining: boolean;
  /** Incoming events not dispatched (rate limits, schemas), by cause. */
  eventRefusals: Record<EventRefusalCause, number>;
  /** Whether new handshakes are refused now because the event loop is overloaded (`limits.maxEventLoopDelayMs`). */
  shedding: boolean;
}
