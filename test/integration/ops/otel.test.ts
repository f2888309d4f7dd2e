/**
 * tidewire/otel with the real OpenTelemetry SDK (BasicTracerProvider,
 * SimpleSpanProcessor, InMemorySpanExporter, the AsyncLocalStorage context
 * manager, the W3C propagator) and official socket.io-client clients:
 * handshake spans (continuing a client's traceparent), event spans (ended
 * when the ack is sent, or after dispatch; linked to the handshake; parents
 * of what the handler does), broadcast spans, and spans ended by a
 * disconnect before the ack. Across nodes over real Redis (tidewire/redis
 * classic and sharded, tidewire/redis-streams): a broadcast or a request
 * from node A yields a span on node B in A's trace, and the context is on
 * the wire as W3C traceparent.
 */
import { createRequire } from "node:module";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdapter, createShardedAdapter } from "../../../src/redis/index.js";
import { createAdapter as createStreamsAdapter } from "../../../src/redis-streams/index.js";
import { facts } from "../../../src/observe/facts.js";
import { instrumentTracing } from "../../../src/observe/otel.js";
import { closeAll, connectPair, onClose, withTimeout } from "../../helpers/io.js";
import { redisPair, startTidewire } from "../../helpers/tidewire-server.js";
import { captureUncaught, releaseUncaught } from "../../helpers/uncaught.js";

const require = createRequire(import.meta.url);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  onClose(instrumentTracing());
});

afterEach(async () => {
  await closeAll();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
  expect(facts.mask).toBe(0);
});

const server = (opts: Record<string, unknown> = {}) => startTidewire(opts);

const spans = (name?: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID = "b7ad6b7169203331";

describe("tidewire/otel", () => {
  it("a handshake span per connection, continuing the client's traceparent", async () => {
    const h = await server();
    await connectPair(h, "polling");
    await connectPair(h, "websocket", { extraHeaders: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
    await until(() => spans("socket.io handshake").length === 2, "two handshake spans");
    const [polling, websocket] = spans("socket.io handshake");
    expect(polling.kind).toBe(SpanKind.SERVER);
    expect(polling.attributes).toMatchObject({
      "messaging.system": "socket.io",
      "network.transport": "tcp",
      "network.protocol.name": "http",
      "socket.io.transport": "polling",
      "client.address": "127.0.0.1",
    });
    expect(polling.parentSpanContext).toBeUndefined();
    expect(websocket.attributes["socket.io.transport"]).toBe("websocket");
    expect(websocket.spanContext().traceId).toBe(TRACE_ID);
    expect(websocket.parentSpanContext?.spanId).toBe(PARENT_ID);
  });

  it("an event with an ack: its span ends when the ack is sent, links the handshake, and parents the handler's work", async () => {
    const h = await server();
    let release!: () => void;
    const tracer = trace.getTracer("app");
    h.io.on("connection", (s: any) => {
      s.on("slow", (v: number, cb: (v: number) => void) => {
        tracer.startActiveSpan("app work", (span) => span.end());
        h.io.emit("news", v);
        release = () => cb(v + 1);
      });
    });
    const { client, socket } = await connectPair(h, "websocket");
    const answer = client.emitWithAck("slow", 41);
    await until(() => release !== undefined, "slow handler");
    expect(spans("process slow")).toHaveLength(0);
    release();
    expect(await answer).toBe(42);
    await until(() => spans("process slow").length === 1, "event span");
    const [event] = spans("process slow");
    expect(event.kind).toBe(SpanKind.CONSUMER);
    expect(event.attributes).toMatchObject({
      "messaging.system": "socket.io",
      "messaging.operation.type": "process",
      "messaging.destination.name": "/",
      "messaging.client.id": socket.id,
      "socket.io.event": "slow",
      "socket.io.ack": true,
      "socket.io.transport": "websocket",
    });
    const [handshake] = spans("socket.io handshake");
    expect(event.links.map((l) => l.context.spanId)).toEqual([handshake.spanContext().spanId]);
    // A new trace per event, not the connection's.
    expect(event.spanContext().traceId).not.toBe(handshake.spanContext().traceId);
    const [work] = spans("app work");
    const [send] = spans("send news");
    for (const child of [work, send]) {
      expect(child.spanContext().traceId).toBe(event.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(event.spanContext().spanId);
    }
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({ "messaging.operation.type": "send", "socket.io.event": "news", "socket.io.rooms": [], "socket.io.ack": false });
  });

  it("an event without an ack: a span over its dispatch", async () => {
    const h = await server();
    let inside: string | undefined;
    h.io.on("connection", (s: any) => s.on("plain", () => (inside = trace.getActiveSpan()?.spanContext().spanId)));
    const { client } = await connectPair(h, "polling");
    client.emit("plain", 1);
    await until(() => spans("process plain").length === 1, "event span");
    const [event] = spans("process plain");
    expect(event.attributes).toMatchObject({ "socket.io.ack": false, "socket.io.transport": "polling" });
    expect(inside).toBe(event.spanContext().spanId);
    expect(event.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("a socket that leaves before its ack is sent ends the event's span with an error", async () => {
    const h = await server();
    let got!: () => void;
    const reached = new Promise<void>((resolve) => (got = resolve));
    h.io.on("connection", (s: any) => s.on("never", () => got()));
    const { client } = await connectPair(h, "websocket");
    client.emit("never", () => undefined);
    await withTimeout(reached, 2000, "handler");
    client.disconnect();
    await until(() => spans("process never").length === 1, "event span ended by the disconnect");
    const [event] = spans("process never");
    expect(event.status.code).toBe(SpanStatusCode.ERROR);
    expect(event.status.message).toMatch(/disconnected \(client namespace disconnect\) before the ack/);
  });

  it("a handler that throws ends its event's span with the exception, which still reaches the process", async () => {
    const h = await server();
    const uncaught = captureUncaught();
    onClose(releaseUncaught);
    h.io.on("connection", (s: any) =>
      s.on("boom", () => {
        throw new Error("handler bug");
      }),
    );
    const { client } = await connectPair(h, "websocket");
    client.emit("boom", () => undefined);
    expect(((await uncaught.next(2000)).error as Error).message).toBe("handler bug");
    await until(() => spans("process boom").length === 1, "event span");
    const [event] = spans("process boom");
    expect(event.status).toEqual({ code: SpanStatusCode.ERROR, message: "handler bug" });
    expect(event.events.map((e) => e.name)).toEqual(["exception"]);
    expect(client.connected).toBe(true);
  });

  it("a refused handshake (drain) ends its span with the refusal", async () => {
    const h = await server();
    void h.io.drain({ durationMs: 100 });
    const res = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(503);
    await res.text();
    const [handshake] = spans("socket.io handshake");
    expect(handshake.status.code).toBe(SpanStatusCode.ERROR);
    expect(handshake.status.message).toMatch(/draining/i);
  });

  it("a broadcast span with rooms, exclusions and flags; stopping removes every sink", async () => {
    const h = await server();
    h.io.to(["r1", "r2"]).except("r3").volatile.emit("tick", 1);
    const [send] = spans("send tick");
    expect(send.attributes).toMatchObject({
      "messaging.destination.name": "/",
      "socket.io.rooms": ["r1", "r2"],
      "socket.io.except": ["r3"],
      "socket.io.volatile": true,
    });
    expect(facts.mask).not.toBe(0);
  });
});

type Flavour = "classic" | "sharded" | "streams";

describe.each<Flavour>(["classic", "sharded", "streams"])("tidewire/otel across nodes (%s, real Redis)", (flavour) => {
  async function nodes(count: number) {
    const { createClient } = require("redis");
    const key = `tw-otel-${flavour}-${process.pid}-${Date.now()}`;
    const list = [];
    for (let i = 0; i < count; i++) {
      const { pub, sub } = await redisPair(REDIS_URL);
      const adapter =
        flavour === "classic"
          ? createAdapter(pub, sub, { key })
          : flavour === "sharded"
            ? createShardedAdapter(pub, sub, { channelPrefix: key })
            : createStreamsAdapter(pub, { streamName: key, channelPrefix: key });
      const node = await server({ adapter });
      await node.io.of("/").adapter.init();
      list.push(node);
    }
    if (flavour === "streams") {
      onClose(async () => {
        const c = createClient({ url: REDIS_URL });
        await c.connect();
        await c.del(key);
        await c.quit();
      });
    }
    return list;
  }

  it("a broadcast from node A yields a span on node B in A's trace, child of A's send span", async () => {
    const [a, b] = await nodes(2);
    const { client } = await connectPair(b, "websocket");
    const got = new Promise((resolve) => client.once("news", resolve));
    const tracer = trace.getTracer("app");
    const root = tracer.startActiveSpan("app request", (span) => {
      a.io.emit("news", "hello");
      span.end();
      return span.spanContext();
    });
    expect(await withTimeout(got, 3000, "news on node B")).toBe("hello");
    const uidA = a.io.of("/").adapter.uid;
    await until(() => spans("process news").length === 1, "B's span");
    const [send] = spans("send news");
    const [remote] = spans("process news");
    expect(send.spanContext().traceId).toBe(root.traceId);
    expect(send.parentSpanContext?.spanId).toBe(root.spanId);
    expect(remote.kind).toBe(SpanKind.CONSUMER);
    expect(remote.spanContext().traceId).toBe(root.traceId);
    expect(remote.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(remote.attributes).toMatchObject({
      "messaging.system": "socket.io",
      "messaging.operation.name": "broadcast",
      "socket.io.origin": uidA,
      "socket.io.event": "news",
      "socket.io.rooms": [],
      "socket.io.ack": false,
    });
  });

  it("requests (fetchSockets, serverSideEmit with an ack): a span on the sender, its child on the node that answers", async () => {
    const [a, b] = await nodes(2);
    await connectPair(b, "websocket");
    b.io.on("ping-all", (n: number, cb: (v: number) => void) => cb(n + 1));
    expect(await a.io.fetchSockets()).toHaveLength(1);
    expect(await a.io.serverSideEmitWithAck("ping-all", 1)).toEqual([2]);
    await until(() => spans("process fetchSockets").length === 1 && spans("process ping-all").length === 1, "B's spans");
    for (const [request, remoteName] of [["fetchSockets", "process fetchSockets"], ["serverSideEmit", "process ping-all"]]) {
      const [sent] = spans(request);
      const [remote] = spans(remoteName);
      expect(sent.kind).toBe(SpanKind.CLIENT);
      expect(sent.status.code).toBe(SpanStatusCode.UNSET);
      expect(remote.spanContext().traceId).toBe(sent.spanContext().traceId);
      expect(remote.parentSpanContext?.spanId).toBe(sent.spanContext().spanId);
    }
  });

  it.runIf(flavour === "classic")("the context is on the wire as W3C traceparent: a 4th element of the broadcast", async () => {
    const { createClient } = require("redis");
    const { decode } = require("notepack.io");
    const [a] = await nodes(1);
    const spy = createClient({ url: REDIS_URL });
    await spy.connect();
    onClose(() => spy.quit().catch(() => undefined));
    const key = a.io.of("/").adapter.channels?.broadcast ?? (a.io.of("/").adapter as any).transport?.channels?.broadcast;
    expect(typeof key).toBe("string");
    const wire: any[] = [];
    await spy.pSubscribe(`${key}*`, (message: Buffer) => wire.push(decode(message)), true);
    a.io.emit("x", 1);
    await until(() => wire.length === 1, "the broadcast on Redis");
    const [send] = spans("send x");
    expect(wire[0]).toHaveLength(4);
    expect(wire[0][3]).toEqual({ traceparent: `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01` });
  });
});
