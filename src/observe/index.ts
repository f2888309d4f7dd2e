/**
 * observe/: what tidewire knows about its own traffic, for the people who run it.
 *
 * Layers publish facts; observe/ turns them into metrics and spans, so the
 * hot paths carry one cheap hook, not a metrics library.
 *
 * Counters (counters.ts). Plain integer fields, incremented on paths that
 * already run: `EngineCounters` on each engine server (handshakes, refusals,
 * upgrades, packets and bytes, session closes by cause), `IoCounters` on each
 * Socket.IO server (broadcasts, deliveries, ack timeouts, the ack round-trip
 * histogram, and per namespace name: connections and disconnects by cause and
 * transport). Nothing per socket, no allocation per packet. `io.stats()`
 * (stats.ts) reads them together with the gauges it computes at the call;
 * `tidewire/metrics` (prometheus.ts) reads `io.stats()` when Prometheus
 * scrapes. The ack round-trip histogram is the one counter with a cost per
 * event, so it is off until `io.sampleAckRoundTrips(n)` turns it on (one ack
 * in n is timed).
 *
 * Causes (causes.ts). A `DisconnectCause` is a stable code plus what was
 * known (`ping_timeout`: rttMs, pongWaitMs; `buffer_overflow`: queuedBytes,
 * limitBytes; `transport_error`: errno or wsCode; `parse_error`: rule). It
 * rides next to socket.io's reason string as the `cause` field of the second
 * argument of `disconnect`, `disconnecting` and the engine socket's `close`.
 *
 * Facts (facts.ts): the hook for diagnostics_channel publishers and
 * OpenTelemetry bridges. `facts` is one process-wide bus; an observer calls
 * `facts.subscribe(sink)` with the handlers it wants and gets back the
 * function that unsubscribes it. `facts.mask` has one bit (FACT_*) per kind
 * that has a handler, and every publishing site tests its bit before it
 * builds anything:
 *
 *     if ((facts.mask & FACT_EVENT) !== 0) scope = facts.event({ socket, namespace, event, args, ack });
 *
 * so with nobody subscribed a site costs a load and a bit test, and
 * allocates nothing. The kinds and where they are published:
 *
 *   handshake      engine/handshake.ts a valid handshake is answered (scope: until the session opens or is refused)
 *   connection     io/namespace.ts    a socket joined a namespace
 *   disconnect     io/socket.ts       a socket left, with socket.io's reason and the cause
 *   event          io/socket.ts       a client event is dispatched (scope: until its ack is sent, or dispatch ends)
 *   broadcast      io/broadcast-operator.ts  a broadcast is handed to the adapter (scope: the adapter call)
 *   adapterRequest adapter/bus/bus-adapter.ts  a request to the other nodes (scope: until answered or failed)
 *   inject         adapter/bus/context.ts  a message for other nodes is built: the sink writes its context fields
 *   remote         adapter/bus/context.ts  a message from another node is acted on (scope: the handling)
 *
 * The observers: diagnostics.ts (the node:diagnostics_channel channels,
 * loaded with tidewire, subscribed to the bus only while a channel has a
 * subscriber) and otel.ts (`tidewire/otel`: OpenTelemetry spans through
 * @opentelemetry/api).
 *
 * Handlers of span-like kinds may return a `Scope`: `end(error?)` is called
 * exactly once; when it has `run(fn)`, the work itself runs inside it (so an
 * OpenTelemetry bridge can make its span's context active while the adapter
 * publishes, and carry it to other nodes). A sink that throws is reported
 * on the next tick (uncaughtException), never thrown into the traffic's path.
 */
export * from "./causes.js";
export * from "./counters.js";
export * from "./facts.js";
export type * from "./stats.js";
