/**
 * tidewire/metrics: tidewire's counters in a prom-client registry.
 *
 *   import client from "prom-client";
 *   import { registerMetrics } from "tidewire/metrics";
 *   registerMetrics(io, { register: client.register });
 *   app.get("/metrics", async (req, res) => res.type(client.register.contentType).send(await client.register.metrics()));
 *
 * Every metric is read from `io.stats()` when the registry is scraped: the
 * traffic's path does no metrics work at all, except the ack round-trip
 * histogram, which times one ack in `ackSampleEvery` (two timestamps per
 * sampled ack). The metrics are plain objects honouring prom-client's metric
 * contract (`name`, `help`, `type`, `get()`), registered with
 * `registry.registerMetric`, so tidewire loads nothing of prom-client itself
 * and works with the user's copy (prom-client 13 to 15).
 */
import { DISCONNECT_CAUSES, TRANSPORT_KINDS } from "./causes.js";
import { EVENT_REFUSAL_CAUSES, REFUSAL_CAUSES } from "./counters.js";
import type { ServerStats } from "./stats.js";

/** What tidewire/metrics needs from a tidewire Server. */
export interface MetricsSource {
  stats(): ServerStats;
  /** Times one ack in `every` for the round-trip histogram (0: none). */
  sampleAckRoundTrips(every: number): void;
}

/** The part of a prom-client Registry used here (`client.register`, or `new client.Registry()`). */
export interface PromRegistry {
  registerMetric(metric: any): void;
  removeSingleMetric(name: string): void;
}

export interface MetricsOptions {
  /** The registry to add the metrics to. @default none: required */
  register: PromRegistry;
  /** Prefix of every metric name (use another one to register two servers in one registry). @default "tidewire_" */
  prefix?: string;
  /**
   * Time one acknowledgement in this many for `<prefix>ack_round_trip_seconds`
   * (1: every ack; 0: no histogram). Timing costs two `performance.now()`
   * calls and a small closure per timed ack.
   * @default 8
   */
  ackSampleEvery?: number;
  /** Labels added to every series (e.g. `{ node: "a" }`). @default {} */
  labels?: Record<string, string>;
}

type Labels = Record<string, string | number>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
type Kind = "counter" | "gauge" | "histogram";

/** A metric prom-client's Registry can serialise: `get()` answers at scrape time. */
class StatsMetric {
  readonly name: string;
  readonly help: string;
  readonly type: Kind;
  readonly aggregator = "sum";
  readonly #read: () => Value[];

  constructor(name: string, help: string, type: Kind, read: () => Value[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#read = read;
  }

  async get(): Promise<{ name: string; help: string; type: Kind; values: Value[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.#read(), aggregator: this.aggregator };
  }

  /** Counters here are the server's own: a registry reset cannot zero them. */
  reset(): void {}
}

/**
 * Adds tidewire's metrics to `opts.register`; returns the function that
 * removes them. Throws if a metric of the same name is already registered.
 */
export function registerMetrics(io: MetricsSource, opts: MetricsOptions): () => void {
  const register = opts?.register;
  if (!register || typeof register.registerMetric !== "function") {
    throw new TypeError('registerMetrics(io, { register }): pass a prom-client Registry, e.g. { register: require("prom-client").register }');
  }
  if (typeof io?.stats !== "function" || typeof io.sampleAckRoundTrips !== "function") {
    throw new TypeError("registerMetrics(io, ...): io must be a tidewire Server");
  }
  const prefix = opts.prefix ?? "tidewire_";
  const extra = opts.labels ?? {};
  const every = opts.ackSampleEvery ?? 8;
  if (!Number.isInteger(every) || every < 0) throw new TypeError(`ackSampleEvery must be a whole number, 0 or more (got ${String(every)})`);

  // One stats() per scrape: the first metric read takes it, the others reuse it in the same tick.
  let cached: ServerStats | null = null;
  const stats = (): ServerStats => {
    if (cached === null) {
      cached = io.stats();
      queueMicrotask(() => (cached = null));
    }
    return cached;
  };
  const v = (value: number, labels: Labels = {}): Value => ({ value, labels: { ...labels, ...extra } });

  const metrics: StatsMetric[] = [];
  const add = (name: string, help: string, type: Kind, read: (s: ServerStats) => Value[]) =>
    metrics.push(new StatsMetric(prefix + name, help, type, () => read(stats())));

  add("sessions", "Engine.IO sessions open now, by transport.", "gauge", (s) => TRANSPORT_KINDS.map((t) => v(s.sessions[t], { transport: t })));
  add("sockets", "Sockets connected now, by namespace and transport.", "gauge", (s) =>
    Object.entries(s.namespaces).flatMap(([namespace, n]) => TRANSPORT_KINDS.map((t) => v(n.sockets[t], { namespace, transport: t }))),
  );
  add("send_buffer_bytes", "Bytes waiting for clients now, queued or handed to the kernel.", "gauge", (s) => [v(s.sendBufferBytes)]);
  add("draining", "1 while io.drain() takes this node out of service.", "gauge", (s) => [v(s.draining ? 1 : 0)]);
  add("handshakes_total", "Engine.IO sessions opened, by the transport they started on.", "counter", (s) =>
    TRANSPORT_KINDS.map((t) => v(s.handshakes[t], { transport: t })),
  );
  add("handshake_refusals_total", "Handshakes refused before a session existed, by cause.", "counter", (s) =>
    REFUSAL_CAUSES.map((cause) => v(s.handshakeRefusals[cause], { cause })),
  );
  add("event_refusals_total", "Incoming events not dispatched (rate limits, schemas), by cause.", "counter", (s) =>
    EVENT_REFUSAL_CAUSES.map((cause) => v(s.eventRefusals[cause], { cause })),
  );
  add("shedding", "1 while new handshakes are refused because the event loop is overloaded.", "gauge", (s) => [v(s.shedding ? 1 : 0)]);
  add("upgrades_total", "Sessions upgraded from polling to WebSocket.", "counter", (s) => [v(s.upgrades)]);
  add("connections_total", "Sockets that connected, by namespace.", "counter", (s) =>
    Object.entries(s.namespaces).map(([namespace, n]) => v(n.connections, { namespace })),
  );
  add("disconnects_total", "Sockets that disconnected, by namespace, transport and cause.", "counter", (s) => {
    const values: Value[] = [];
    for (const [namespace, n] of Object.entries(s.namespaces)) {
      for (const cause of DISCONNECT_CAUSES) {
        for (const t of TRANSPORT_KINDS) {
          const count = n.disconnects[cause][t];
          if (count > 0) values.push(v(count, { namespace, transport: t, cause }));
        }
      }
    }
    return values;
  });
  add("session_closes_total", "Engine.IO sessions that ended, by transport and cause.", "counter", (s) => {
    const values: Value[] = [];
    for (const cause of DISCONNECT_CAUSES) {
      for (const t of TRANSPORT_KINDS) if (s.sessionCloses[cause][t] > 0) values.push(v(s.sessionCloses[cause][t], { transport: t, cause }));
    }
    return values;
  });
  add("packets_received_total", "Engine.IO messages received.", "counter", (s) => [v(s.packetsIn)]);
  add("packets_sent_total", "Engine.IO messages queued for clients.", "counter", (s) => [v(s.packetsOut)]);
  add("bytes_received_total", "Payload size of the messages received (text in UTF-16 code units).", "counter", (s) => [v(s.bytesIn)]);
  add("bytes_sent_total", "Payload size of the messages queued for clients (text in UTF-16 code units).", "counter", (s) => [v(s.bytesOut)]);
  add("broadcasts_total", "Broadcasts emitted on this node.", "counter", (s) => [v(s.broadcasts)]);
  add("deliveries_total", "Packets the adapter wrote to clients (each recipient of a broadcast once).", "counter", (s) => [v(s.deliveries)]);
  add("buffer_overflow_closes_total", "Sessions closed because the client did not read (maxBufferedBytes).", "counter", (s) => [v(s.overflowCloses)]);
  add("ack_timeouts_total", "Acknowledgements that timed out.", "counter", (s) => [v(s.ackTimeouts)]);
  if (every > 0) {
    add("ack_round_trip_seconds", `Time from an emit with an acknowledgement to the client's answer (one ack in ${every} timed).`, "histogram", (s) => {
      const name = prefix + "ack_round_trip_seconds";
      const values: Value[] = [];
      let cumulative = 0;
      s.ackRtt.buckets.forEach((le, i) => {
        cumulative += s.ackRtt.counts[i];
        values.push({ ...v(cumulative, { le }), metricName: `${name}_bucket` });
      });
      cumulative += s.ackRtt.counts[s.ackRtt.buckets.length];
      values.push({ ...v(cumulative, { le: "+Inf" }), metricName: `${name}_bucket` });
      values.push({ ...v(s.ackRtt.sum), metricName: `${name}_sum` });
      values.push({ ...v(s.ackRtt.count), metricName: `${name}_count` });
      return values;
    });
  }

  const registered: string[] = [];
  try {
    for (const metric of metrics) {
      register.registerMetric(metric);
      registered.push(metric.name);
    }
  } catch (err) {
    for (const name of registered) register.removeSingleMetric(name);
    throw err;
  }
  io.sampleAckRoundTrips(every);
  return () => {
    for (const name of registered) register.removeSingleMetric(name);
    io.sampleAckRoundTrips(0);
  };
}
