// Runs in a project that installed the packed tidewire tarball (npm-pack.test.ts):
// every entry loads by require() and import(), classes are shared between
// entries, and servers accept the official socket.io-client over both
// transports. Prints one JSON line.
"use strict";
const assert = require("node:assert/strict");
const { createServer } = require("node:http");
const { io: connect } = require("socket.io-client");

/** Starts `io` on `httpServer`, has one official client call an acknowledged event, and closes both. */
async function roundTrip(io, httpServer, transport) {
  io.on("connection", (socket) => {
    socket.on("hello", (name, ack) => ack(`hi ${name} over ${socket.conn.transport.name}`));
  });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const client = connect(`http://127.0.0.1:${httpServer.address().port}`, { transports: [transport], reconnection: false });
  try {
    return await client.timeout(5000).emitWithAck("hello", "pack");
  } finally {
    client.disconnect();
    await io.close();
  }
}

/** A Tracer whose spans record their names when they end (no SDK needed). */
function recordingTracer(ended) {
  return {
    startSpan(name) {
      const span = {
        spanContext: () => ({ traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: 1 }),
        setAttribute: () => span,
        setAttributes: () => span,
        addEvent: () => span,
        setStatus: () => span,
        recordException: () => undefined,
        updateName: () => span,
        isRecording: () => true,
        end: () => ended.push(name),
      };
      return span;
    },
  };
}

async function main() {
  const tidewire = require("tidewire");
  const esm = await import("tidewire");
  const redis = require("tidewire/redis");
  const redisEsm = await import("tidewire/redis");
  const streamsAdapter = require("tidewire/redis-streams");
  const streamsAdapterEsm = await import("tidewire/redis-streams");
  const stream = require("tidewire/stream");
  const streamEsm = await import("tidewire/stream");
  const metrics = require("tidewire/metrics");
  const metricsEsm = await import("tidewire/metrics");
  const otel = require("tidewire/otel");
  const otelEsm = await import("tidewire/otel");
  const cluster = require("tidewire/cluster");
  const clusterEsm = await import("tidewire/cluster");

  assert.equal(typeof tidewire, "function", 'require("tidewire") is callable');
  assert.equal(typeof tidewire.Server, "function");
  assert.equal(typeof esm.Server, "function");
  // one copy of each class per format: tidewire/redis builds on tidewire's Adapter
  assert.ok(redis.RedisAdapter.prototype instanceof tidewire.Adapter, "CommonJS: RedisAdapter extends tidewire's Adapter");
  assert.ok(redisEsm.RedisAdapter.prototype instanceof esm.Adapter, "ESM: RedisAdapter extends tidewire's Adapter");
  assert.ok(streamsAdapter.RedisStreamsAdapter.prototype instanceof tidewire.Adapter, "CommonJS: RedisStreamsAdapter extends tidewire's Adapter");
  assert.ok(streamsAdapterEsm.RedisStreamsAdapter.prototype instanceof esm.Adapter, "ESM: RedisStreamsAdapter extends tidewire's Adapter");
  assert.equal(typeof streamsAdapter.createAdapter, "function");
  assert.ok(cluster.ClusterAdapter.prototype instanceof tidewire.Adapter, "CommonJS: ClusterAdapter extends tidewire's Adapter");
  assert.ok(clusterEsm.ClusterAdapter.prototype instanceof esm.Adapter, "ESM: ClusterAdapter extends tidewire's Adapter");
  assert.equal(typeof cluster.setupPrimary, "function");
  assert.equal(typeof stream.streams, "function");
  assert.equal(typeof streamEsm.streams, "function");
  assert.equal(typeof metrics.registerMetrics, "function");
  assert.equal(typeof metricsEsm.registerMetrics, "function");
  {
    // A registry as prom-client's: registerMetric / removeSingleMetric, get() at scrape time.
    const registered = new Map();
    const register = { registerMetric: (m) => registered.set(m.name, m), removeSingleMetric: (n) => registered.delete(n) };
    const io = new esm.Server();
    const unregister = metricsEsm.registerMetrics(io, { register });
    const sessions = await registered.get("tidewire_sessions").get();
    assert.deepEqual(sessions.values.map((v) => v.value), [0, 0]);
    unregister();
    assert.equal(registered.size, 0);
    await io.close();
  }

  assert.equal(typeof otel.instrumentTracing, "function");
  assert.equal(typeof otelEsm.instrumentTracing, "function");
  assert.deepEqual(Object.values(tidewire.DIAGNOSTICS_CHANNELS).sort(), Object.values(esm.DIAGNOSTICS_CHANNELS).sort());
  // tidewire/otel follows the servers of its own format (one facts bus per format), with @opentelemetry/api installed.
  const spans = { cjs: [], esm: [] };
  const stopCjs = otel.instrumentTracing({ tracer: recordingTracer(spans.cjs) });
  const stopEsm = otelEsm.instrumentTracing({ tracer: recordingTracer(spans.esm) });

  const cjsServer = createServer();
  const viaRequire = await roundTrip(tidewire(cjsServer), cjsServer, "websocket");
  const esmServer = createServer();
  const viaImport = await roundTrip(new esm.Server(esmServer), esmServer, "polling");
  stopCjs();
  stopEsm();
  for (const format of ["cjs", "esm"]) {
    assert.ok(spans[format].includes("socket.io handshake"), `${format}: a handshake span (${spans[format]})`);
    assert.ok(spans[format].includes("process hello"), `${format}: an event span (${spans[format]})`);
  }
  console.log(JSON.stringify({ viaRequire, viaImport }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
