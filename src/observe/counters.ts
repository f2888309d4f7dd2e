/**
 * Counters: plain integer fields, incremented on paths that already run
 * (a handshake, a flush, a close), read by `io.stats()`. Nothing here is per
 * socket or per packet: one EngineCounters per engine server, one IoCounters
 * per Socket.IO server, one NamespaceCounters per namespace name.
 */
import { DISCONNECT_CAUSES, type DisconnectCauseCode, type TransportKind } from "./causes.js";

/**
 * Why a handshake was refused before a session existed: `server_drain`
 * (`io.drain()`, 503); and, with `limits` configured, `event_loop_overload`
 * (503), `handshake_rate` (the global handshake rate, 503),
 * `address_handshake_rate` and `address_connections` (per client address, 429).
 */
export const REFUSAL_CAUSES = [
  "server_drain",
  "event_loop_overload",
  "handshake_rate",
  "address_handshake_rate",
  "address_connections",
] as const;
export type RefusalCause = (typeof REFUSAL_CAUSES)[number];

export function newRefusalTable(): Record<RefusalCause, number> {
  const table = {} as Record<RefusalCause, number>;
  for (const cause of REFUSAL_CAUSES) table[cause] = 0;
  return table;
}

/**
 * Why an incoming event was not dispatched (with `limits` or schemas
 * configured): `rate_limited` (an event token bucket: per socket, per event
 * name or per address), `bytes_limited` (the connection's bytes per second),
 * `invalid_payload` (a schema refused it), `schema_error` (a schema threw).
 */
export const EVENT_REFUSAL_CAUSES = ["rate_limited", "bytes_limited", "invalid_payload", "schema_error"] as const;
export type EventRefusalCause = (typeof EVENT_REFUSAL_CAUSES)[number];

export interface PerTransport {
  polling: number;
  websocket: number;
}

/** Counts per disconnect cause and transport. */
export type CauseTable = Record<DisconnectCauseCode, PerTransport>;

export function newCauseTable(): CauseTable {
  const table = {} as CauseTable;
  for (const code of DISCONNECT_CAUSES) table[code] = { polling: 0, websocket: 0 };
  return table;
}

/** Engine.IO level: sessions and the bytes they move. */
export class EngineCounters {
  /** Sessions opened, by the transport they started on. */
  readonly handshakes: PerTransport = { polling: 0, websocket: 0 };
  /** Handshakes answered with a refusal (503 or 429), by cause. */
  readonly handshakeRefusals: Record<RefusalCause, number> = newRefusalTable();
  /** Sessions moved from polling to WebSocket. */
  upgrades = 0;
  /** Engine.IO message packets received / queued for sending. */
  packetsIn = 0;
  packetsOut = 0;
  /** Payload sizes of those messages (text in UTF-16 code units, as maxBufferedBytes counts). */
  bytesIn = 0;
  bytesOut = 0;
  /** Sessions closed, by cause and by the transport they were on. */
  readonly closes: CauseTable = newCauseTable();

  /** Counts a closed session. */
  closed(code: DisconnectCauseCode, transport: TransportKind): void {
    this.closes[code][transport]++;
  }
}

/**
 * Upper bounds (seconds) of the ack round-trip histogram's buckets; the last
 * bucket (+Inf) is implicit.
 */
export const ACK_RTT_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Round trips of the server's emits with an acknowledgement, from the emit
 * to the client's answer. Off until someone reads it (`sampleEvery` 0): then
 * every `sampleEvery`-th ack is timed, so the cost is one counter increment
 * per ack and a timestamp pair per sampled one.
 */
export class AckHistogram {
  /** Time one ack in this many; 0 times none. */
  sampleEvery = 0;
  /** Acks seen since sampling began (the sampling clock). */
  seq = 0;
  /** Per bucket (not cumulative); the last entry is +Inf. */
  readonly counts: number[] = new Array(ACK_RTT_BUCKETS.length + 1).fill(0);
  /** Sum of the sampled round trips, in seconds. */
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < ACK_RTT_BUCKETS.length && seconds > ACK_RTT_BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** Per namespace name (kept after a dynamic namespace is removed: counters never go back). */
export class NamespaceCounters {
  /** Sockets that connected. */
  connections = 0;
  /** Sockets that disconnected, by cause and transport. */
  readonly disconnects: CauseTable = newCauseTable();
}

/** Socket.IO level. */
export class IoCounters {
  /** Broadcasts emitted on this node (`io.emit`, `io.to(room).emit`, `socket.broadcast.emit`...). */
  broadcasts = 0;
  /** Packets written to clients by the adapter: each recipient of a broadcast counts once. */
  deliveries = 0;
  /** Acknowledgements that timed out (socket.timeout(ms).emit, broadcasts with a timeout). */
  ackTimeouts = 0;
  readonly ackRtt = new AckHistogram();
  /** Incoming events dropped by the inbound policy, by cause. */
  readonly eventRefusals: Record<EventRefusalCause, number> = { rate_limited: 0, bytes_limited: 0, invalid_payload: 0, schema_error: 0 };
  readonly namespaces = new Map<string, NamespaceCounters>();

  namespace(name: string): NamespaceCounters {
    let counters = this.namespaces.get(name);
    if (counters === undefined) {
      counters = new NamespaceCounters();
      this.namespaces.set(name, counters);
    }
    return counters;
  }
}
