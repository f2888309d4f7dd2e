/**
 * `io.stats()`: the counters of the engine and of the Socket.IO layer, with
 * the gauges read now. The gauges walk the open sessions and sockets once
 * (a few milliseconds for 100,000), which is why they are computed here,
 * when someone asks, and never kept up to date on the traffic's path.
 */
import type { Server as EngineServer } from "../engine/index.js";
import { DISCONNECT_CAUSES, type DisconnectCauseCode } from "../observe/causes.js";
import { ACK_RTT_BUCKETS, newCauseTable, newRefusalTable, type CauseTable, type EngineCounters, type IoCounters, type PerTransport } from "../observe/counters.js";
import type { NamespaceStats, ServerStats } from "../observe/stats.js";

/** @internal */
interface StatsSource {
  readonly counters: IoCounters;
  readonly engine: EngineServer | undefined;
  readonly _nsps: Map<string, { sockets: Map<string, { client: { conn: { transport: { name: "polling" | "websocket" } } } }> }>;
  readonly draining: boolean;
  readonly shedding: boolean;
}

function copyTable(table: CauseTable): CauseTable {
  const copy = newCauseTable();
  for (const code of DISCONNECT_CAUSES) {
    copy[code].polling = table[code].polling;
    copy[code].websocket = table[code].websocket;
  }
  return copy;
}

const NO_ENGINE: Pick<EngineCounters, "handshakes" | "handshakeRefusals" | "upgrades" | "packetsIn" | "packetsOut" | "bytesIn" | "bytesOut" | "closes"> = {
  handshakes: { polling: 0, websocket: 0 },
  handshakeRefusals: newRefusalTable(),
  upgrades: 0,
  packetsIn: 0,
  packetsOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  closes: newCauseTable(),
};

/** @internal used by Server#stats */
export function collectStats(io: StatsSource): ServerStats {
  const engine = io.engine;
  const ec = engine?.counters ?? NO_ENGINE;
  const sessions: PerTransport = { polling: 0, websocket: 0 };
  let sendBufferBytes = 0;
  if (engine !== undefined) {
    for (const id in engine.clients) {
      const session = engine.clients[id];
      sessions[session.transport.name]++;
      sendBufferBytes += session.bufferedAmount;
    }
  }
  const namespaces: Record<string, NamespaceStats> = {};
  const disconnects = {} as Record<DisconnectCauseCode, number>;
  for (const code of DISCONNECT_CAUSES) disconnects[code] = 0;
  for (const [name, counters] of io.counters.namespaces) {
    const sockets: PerTransport = { polling: 0, websocket: 0 };
    const nsp = io._nsps.get(name);
    if (nsp !== undefined) for (const socket of nsp.sockets.values()) sockets[socket.client.conn.transport.name]++;
    for (const code of DISCONNECT_CAUSES) disconnects[code] += counters.disconnects[code].polling + counters.disconnects[code].websocket;
    namespaces[name] = { sockets, connections: counters.connections, disconnects: copyTable(counters.disconnects) };
  }
  const c = io.counters;
  return {
    sessions,
    namespaces,
    handshakes: { ...ec.handshakes },
    handshakeRefusals: { ...ec.handshakeRefusals },
    upgrades: ec.upgrades,
    packetsIn: ec.packetsIn,
    packetsOut: ec.packetsOut,
    bytesIn: ec.bytesIn,
    bytesOut: ec.bytesOut,
    broadcasts: c.broadcasts,
    deliveries: c.deliveries,
    sendBufferBytes,
    overflowCloses: ec.closes.buffer_overflow.polling + ec.closes.buffer_overflow.websocket,
    ackTimeouts: c.ackTimeouts,
    sessionCloses: copyTable(ec.closes),
    disconnects,
    ackRtt: {
      sampleEvery: c.ackRtt.sampleEvery,
      buckets: ACK_RTT_BUCKETS,
      counts: c.ackRtt.counts.slice(),
      sum: c.ackRtt.sum,
      count: c.ackRtt.count,
    },
    draining: io.draining,
    eventRefusals: { ...c.eventRefusals },
    shedding: io.shedding,
  };
}
