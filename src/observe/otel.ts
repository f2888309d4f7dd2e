/**
 * tidewire/otel: OpenTelemetry spans for tidewire's traffic, through
 * `@opentelemetry/api` only (the application brings the SDK; without one
 * the API is a no-op).
 *
 *   import { instrumentTracing } from "tidewire/otel";
 *   const stop = instrumentTracing();            // the global tracer provider
 *
 * Spans (process-wide, like the facts they come from):
 *   socket.io handshake   SERVER    a handshake, until the session opens or is refused
 *   process <event>       CONSUMER  a client's event: until its ack is sent, or the end of dispatch
 *   send <event>          PRODUCER  a broadcast, over the adapter's call
 *   <request>             CLIENT    a request to the other nodes (fetchSockets...), until answered
 *   process <event>       CONSUMER  on another node, a broadcast from this one (child of `send`)
 *   process <request>     CONSUMER  on another node, a request from this one (child of the request)
 *
 * Cluster adapters (tidewire/redis, tidewire/redis-streams, tidewire/cluster)
 * carry the context of `send` and request spans to the other nodes with the
 * global propagator (W3C trace context once an SDK registers one).
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { IncomingMessage } from "node:http";
import {
  facts,
  type AdapterRequestFact,
  type BroadcastFact,
  type Carrier,
  type DisconnectFact,
  type EventFact,
  type FactSink,
  type HandshakeFact,
  type RemoteFact,
  type Scope,
} from "./facts.js";

export interface TracingOptions {
  /** The tracer spans are made with. @default `tracerProvider.getTracer("tidewire")` */
  tracer?: Tracer;
  /** Where the tracer comes from when `tracer` is not given. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /**
   * How the context travels to other nodes with broadcasts and requests,
   * and how a handshake's HTTP headers are read when no span is active.
   * @default the global propagator (`propagation`)
   */
  propagator?: TextMapPropagator;
}

const SYSTEM = "socket.io";
/** Longest event name put in a span name or attribute (names come from clients). */
const MAX_NAME = 128;

const headerGetter = {
  keys: (carrier: IncomingMessage["headers"]) => Object.keys(carrier),
  get: (carrier: IncomingMessage["headers"], key: string) => carrier[key],
};

function nameOf(event: unknown): string {
  const name = typeof event === "string" ? event : String(event);
  return name.length > MAX_NAME ? name.slice(0, MAX_NAME) : name;
}

function roomList(rooms: Iterable<unknown>): string[] {
  const list: string[] = [];
  for (const room of rooms) list.push(String(room));
  return list;
}

/** A span as a facts Scope: ended once, work run in its context, errors recorded. */
class SpanScope implements Scope {
  readonly #span: Span;
  readonly #context: Context;
  #ended = false;
  /** A set this scope is in until it ends (events awaiting their ack). */
  #pending: Set<SpanScope> | null = null;

  constructor(span: Span, parent: Context) {
    this.#span = span;
    this.#context = trace.setSpan(parent, span);
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#pending?.delete(this);
    if (error !== undefined) fail(this.#span, error);
    this.#span.end();
  }

  /** Keeps this scope in `pending` until it ends. */
  onEnd(pending: Set<SpanScope>): void {
    this.#pending = pending;
    pending.add(this);
  }

  run<T>(fn: () => T): T {
    try {
      return context.with(this.#context, fn);
    } catch (err) {
      // A handler that throws before answering an ack: the span ends with the error now.
      this.end(err);
      throw err;
    }
  }
}

function fail(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Starts tracing tidewire's handshakes, events, broadcasts and cluster
 * messages; returns the function that stops it. Process-wide: every tidewire
 * server of this module instance is traced.
 */
export function instrumentTracing(opts: TracingOptions = {}): () => void {
  const tracer = opts.tracer ?? (opts.tracerProvider ?? trace.getTracerProvider()).getTracer("tidewire");
  const propagator: Pick<TextMapPropagator, "inject" | "extract"> = opts.propagator ?? propagation;
  /** Spans the handshake of a connection started: the connection's events link to it. */
  const handshakes = new WeakMap<IncomingMessage, SpanContext>();
  /** Per socket, its events whose ack has not been sent yet. */
  const awaitingAck = new WeakMap<object, Set<SpanScope>>();

  const start = (name: string, kind: SpanKind, parent: Context, attributes: Attributes, links?: { context: SpanContext }[]): SpanScope =>
    new SpanScope(tracer.startSpan(name, { kind, attributes, links }, parent), parent);

  const sink: FactSink = {
    handshake(fact: HandshakeFact) {
      const active = context.active();
      // Without an active span (no HTTP instrumentation), the request's own trace headers, if any.
      const parent = trace.getSpan(active) !== undefined ? active : propagator.extract(ROOT_CONTEXT, fact.req.headers, headerGetter);
      const span = tracer.startSpan(
        "socket.io handshake",
        {
          kind: SpanKind.SERVER,
          attributes: {
            "messaging.system": SYSTEM,
            "network.transport": "tcp",
            "network.protocol.name": fact.transport === "websocket" ? "websocket" : "http",
            "socket.io.transport": fact.transport,
          },
        },
        parent,
      );
      const address = fact.req.socket?.remoteAddress;
      if (address !== undefined) span.setAttribute("client.address", address);
      handshakes.set(fact.req, span.spanContext());
      return new SpanScope(span, parent);
    },

    event(fact: EventFact) {
      const event = nameOf(fact.event);
      const socket = fact.socket as EventFact["socket"] & { request?: IncomingMessage; conn?: { transport?: { name?: string } } };
      const handshake = socket.request !== undefined ? handshakes.get(socket.request) : undefined;
      // A new trace per event: the context active here is the connection's (its upgrade
      // request's), not the event's. The event links to the connection's handshake.
      const scope = start(
        `process ${event}`,
        SpanKind.CONSUMER,
        ROOT_CONTEXT,
        {
          "messaging.system": SYSTEM,
          "messaging.operation.type": "process",
          "messaging.operation.name": "process",
          "messaging.destination.name": fact.namespace,
          "messaging.client.id": fact.socket.id,
          "network.transport": "tcp",
          "socket.io.event": event,
          "socket.io.ack": fact.ack,
          "socket.io.transport": socket.conn?.transport?.name ?? "",
        },
        handshake !== undefined ? [{ context: handshake }] : undefined,
      );
      if (fact.ack) {
        // Until the ack is sent; a socket that leaves first ends them (see disconnect).
        let pending = awaitingAck.get(fact.socket);
        if (pending === undefined) awaitingAck.set(fact.socket, (pending = new Set()));
        scope.onEnd(pending);
      }
      return scope;
    },

    disconnect(fact: DisconnectFact) {
      const pending = awaitingAck.get(fact.socket);
      if (pending === undefined) return;
      awaitingAck.delete(fact.socket);
      for (const scope of pending) scope.end(new Error(`the socket disconnected (${fact.reason}) before the ack was sent`));
    },

    broadcast(fact: BroadcastFact) {
      const event = nameOf(fact.event);
      const attributes: Attributes = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": fact.namespace,
        "socket.io.event": event,
        "socket.io.rooms": roomList(fact.rooms),
        "socket.io.except": roomList(fact.except),
        "socket.io.ack": fact.ack,
      };
      if (fact.flags.volatile) attributes["socket.io.volatile"] = true;
      if (fact.flags.local) attributes["socket.io.local"] = true;
      if (fact.flags.timeout !== undefined) attributes["socket.io.timeout_ms"] = fact.flags.timeout;
      return start(`send ${event}`, SpanKind.PRODUCER, context.active(), attributes);
    },

    adapterRequest(fact: AdapterRequestFact) {
      return start(fact.request, SpanKind.CLIENT, context.active(), {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "send",
        "messaging.operation.name": fact.request,
        "messaging.destination.name": fact.namespace,
        "socket.io.request_id": fact.requestId,
        "socket.io.timeout_ms": fact.timeoutMs,
      });
    },

    inject(carrier: Carrier) {
      propagator.inject(context.active(), carrier, { set: (c: Carrier, key: string, value: string) => (c[key] = value) });
    },

    remote(fact: RemoteFact) {
      const parent = fact.carrier !== undefined ? propagator.extract(ROOT_CONTEXT, fact.carrier, carrierGetter) : ROOT_CONTEXT;
      const what = fact.event !== undefined ? nameOf(fact.event) : fact.message;
      const attributes: Attributes = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": fact.message,
        "messaging.destination.name": fact.namespace,
        "socket.io.origin": fact.from,
      };
      if (fact.event !== undefined) attributes["socket.io.event"] = what;
      if (fact.rooms !== undefined) attributes["socket.io.rooms"] = roomList(fact.rooms);
      if (fact.except !== undefined) attributes["socket.io.except"] = roomList(fact.except);
      if (fact.ack !== undefined) attributes["socket.io.ack"] = fact.ack;
      return start(`process ${what}`, SpanKind.CONSUMER, parent, attributes);
    },
  };
  return facts.subscribe(sink);
}

const carrierGetter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => carrier[key],
};
