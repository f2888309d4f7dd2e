/**
 * Tracing in a test node process (the Redis and Redis-streams fixtures, with
 * TRACING=1): the OpenTelemetry SDK with the W3C propagator, the
 * AsyncLocalStorage context manager and an in-memory exporter, and
 * tidewire/otel on. Returns what the `spans` command answers: the finished
 * spans as plain data.
 */
import { createRequire } from "node:module";
import { instrumentTracing } from "../../src/observe/otel.js";

const require = createRequire(import.meta.url);

export interface SpanSummary {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  /** socket.io.origin: the uid of the node a remote message came from. */
  origin: string | null;
}

export function startTracing(): () => SpanSummary[] {
  const { context, propagation, trace } = require("@opentelemetry/api");
  const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
  const { W3CTraceContextPropagator } = require("@opentelemetry/core");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  instrumentTracing();
  return () =>
    exporter.getFinishedSpans().map((s: any) => ({
      name: s.name,
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      parentSpanId: s.parentSpanContext?.spanId ?? null,
      origin: s.attributes["socket.io.origin"] ?? null,
    }));
}
