/**
 * What tidewire adds over socket.io, as a user would write it: the stream
 * entry, the sharded Redis adapter, operations (drain, stats, causes), the
 * metrics and otel entries, the diagnostics channels and the node:cluster adapter. Compiled against the built package
 * with user.ts (never against socket.io).
 */
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { createClient } from "redis";
import { Server, TidewireError } from "tidewire";
import cluster from "node:cluster";
import { ClusterAdapter, createAdapter as createClusterAdapter, setupPrimary, type ClusterAdapterOptions } from "tidewire/cluster";
import { createShardedAdapter, RedisAdapter } from "tidewire/redis";
import { createAdapter as createStreamsAdapter, SessionNotRecoveredError, type ExpiredSession } from "tidewire/redis-streams";
import { streams, StreamError, type IncomingStream } from "tidewire/stream";
import { registerMetrics, type PromRegistry } from "tidewire/metrics";
import { instrumentTracing, type TracingOptions } from "tidewire/otel";
import { trace } from "@opentelemetry/api";
import { DIAGNOSTICS_CHANNELS, type DisconnectCause, type DisconnectFact, type EventFact, type ServerStats } from "tidewire";
import { subscribe } from "node:diagnostics_channel";

const pub = createClient();
const sub = pub.duplicate();
const io = new Server(createServer(), { adapter: createShardedAdapter(pub, sub) });

io.on("connection", (socket) => {
  streams(socket).on("upload", (file: IncomingStream, meta: { name: string }) => {
    file.resume();
    void meta.name;
  });
  streams(socket)
    .emit("report", Readable.from(["a", "b"]), { name: "report.txt" })
    .catch((err: unknown) => {
      if (err instanceof StreamError) console.warn(err.code);
    });
  // @ts-expect-error the stream to send is a Readable
  void streams(socket).emit("report", "not a stream");
});

// tidewire/redis-streams: its adapter where ServerOptions expects one, recovery reasons, expiry events.
const withStreams = new Server(createServer(), {
  adapter: createStreamsAdapter(pub, { streamName: "s", maxLen: 1000, recovery: { snapshotInterval: 2000 } }),
  connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
});
withStreams.on("connection", (socket) => {
  const err = socket.recoveryError;
  if (err instanceof SessionNotRecoveredError && err.reason === "trimmed") socket.emit("resync");
});
withStreams.of("/").adapter.on("session-expired", (s: ExpiredSession) => void s.rooms.length);
// @ts-expect-error maxLen is a number
createStreamsAdapter(pub, { maxLen: "10" });

export function isRedis(io: Server): boolean {
  const adapter = io.of("/").adapter;
  return adapter instanceof RedisAdapter;
}

export function describeFailure(err: unknown): string {
  return err instanceof TidewireError ? `${err.code}: ${err.message}` : String(err);
}

export async function operate(io: Server, register: PromRegistry): Promise<number> {
  const unregister = registerMetrics(io, { register, ackSampleEvery: 4 });
  io.on("connection", (socket) => {
    socket.on("disconnect", (reason, details?: { cause?: DisconnectCause }) => {
      console.log(reason, details?.cause?.code, details?.cause?.transport);
    });
  });
  const stats: ServerStats = io.stats();
  if (io.ready) await io.drain({ durationMs: 10_000, batch: 50 });
  await io.close({ closeHttpServer: false });
  unregister();
  return stats.sessions.websocket + stats.namespaces["/"].disconnects.ping_timeout.polling;
}

// --- tracing: OpenTelemetry spans, diagnostics_channel messages ------------------------------

const tracing: TracingOptions = { tracer: trace.getTracer("app") };
const stopTracing: () => void = instrumentTracing(tracing);
stopTracing();
instrumentTracing({ tracerProvider: trace.getTracerProvider() });
// @ts-expect-error tracer is an OpenTelemetry Tracer
instrumentTracing({ tracer: "app" });
subscribe(DIAGNOSTICS_CHANNELS.disconnect, (message) => {
  const { reason, cause, socket } = message as DisconnectFact;
  console.log(socket.id, reason, cause.code, cause.transport);
});
subscribe(DIAGNOSTICS_CHANNELS.event, (message) => void (message as EventFact).args.length);
// @ts-expect-error the channel names are fixed
void DIAGNOSTICS_CHANNELS.handshake;

// --- node:cluster: the primary routes, workers share one cluster -------------------------------

if (cluster.isPrimary) {
  const primary = setupPrimary({ serialization: "advanced" });
  cluster.fork();
  process.once("SIGTERM", () => primary.close());
  // @ts-expect-error serialization is "advanced" or "json"
  setupPrimary({ serialization: "v8" });
} else {
  const options: ClusterAdapterOptions = { heartbeatInterval: 5000, forwarding: { maxPending: 1000, timeout: 5000 } };
  const worker = new Server(createServer(), { adapter: createClusterAdapter(options) });
  void (worker.of("/").adapter instanceof ClusterAdapter);
  new Server(createServer(), { adapter: createClusterAdapter({ forwarding: false }) });
  // @ts-expect-error forwarding is a boolean or an object
  createClusterAdapter({ forwarding: "on" });
}
