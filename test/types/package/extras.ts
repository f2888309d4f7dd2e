/**
 * What tidewire adds over socket.io, as a user would write it: the stream
 * entry, the sharded Redis adapter, operations (drain, stats, causes), the
 * metrics entry and the node:cluster adapter. Compiled against the built package
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
import type { DisconnectCause, ServerStats } from "tidewire";

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
