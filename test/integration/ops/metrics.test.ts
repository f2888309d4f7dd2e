/**
 * tidewire/metrics with a real prom-client Registry: after real client
 * activity (official socket.io-client over polling, WebSocket and upgrade;
 * acks; a broadcast; disconnects of several causes; a drain refusal), the
 * registry's text output has the tidewire_* series with their labels and
 * values, and the ack round-trip histogram counts the sampled acks.
 */
import { afterEach, describe, expect, it } from "vitest";
import client from "prom-client";
import { registerMetrics } from "../../../src/observe/prometheus.js";
import { closeAll, connectPair, onClose, rawRequest, waitFor } from "../../helpers/io.js";
import { startTidewire } from "../../helpers/tidewire-server.js";

afterEach(closeAll);

const server = (opts: Record<string, unknown> = {}) => startTidewire(opts);

/** `name{labels} value` lines of a Prometheus text exposition, as a map. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

describe("tidewire/metrics", () => {
  it("a scrape of a real registry shows what official clients did", async () => {
    const h = await server();
    const register = new client.Registry();
    onClose(registerMetrics(h.io, { register, ackSampleEvery: 1 }));
    h.io.of("/chat");
    h.io.on("connection", (s: any) => s.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v)));
    const ws = await connectPair(h, "websocket");
    const polling = await connectPair(h, "polling");
    const upgraded = await connectPair(h, "upgrade");
    await connectPair(h, "websocket", {}, "/chat");
    ws.client.on("ping?", (cb: (v: string) => void) => cb("pong"));
    for (let i = 0; i < 3; i++) expect(await ws.socket.timeout(2000).emitWithAck("ping?")).toBe("pong");
    expect(await polling.client.emitWithAck("echo", 1)).toBe(1);
    h.io.emit("news", "hello");
    await Promise.all([ws, polling, upgraded].map((p) => waitFor(p.client, "news", 3000)));
    const left = waitFor(polling.socket.conn, "close", 3000);
    polling.client.disconnect();
    await left;
    const kicked = waitFor(upgraded.socket.conn, "close", 3000);
    upgraded.socket.disconnect(true);
    await kicked;

    const text = await register.metrics();
    const series = parse(text);
    expect(text).toContain("# TYPE tidewire_disconnects_total counter");
    expect(text).toContain("# TYPE tidewire_ack_round_trip_seconds histogram");
    expect(series.get('tidewire_sessions{transport="polling"}')).toBe(0);
    expect(series.get('tidewire_sessions{transport="websocket"}')).toBe(2);
    expect(series.get('tidewire_sockets{namespace="/",transport="websocket"}')).toBe(1);
    expect(series.get('tidewire_sockets{namespace="/chat",transport="websocket"}')).toBe(1);
    expect(series.get('tidewire_handshakes_total{transport="polling"}')).toBe(2);
    expect(series.get('tidewire_handshakes_total{transport="websocket"}')).toBe(2);
    expect(series.get("tidewire_upgrades_total")).toBe(1);
    expect(series.get('tidewire_connections_total{namespace="/"}')).toBe(3);
    expect(series.get('tidewire_disconnects_total{namespace="/",transport="polling",cause="client_namespace_disconnect"}')).toBe(1);
    expect(series.get('tidewire_disconnects_total{namespace="/",transport="websocket",cause="server_disconnect"}')).toBe(1);
    expect(series.get('tidewire_session_closes_total{transport="polling",cause="client_closed"}')).toBe(1);
    expect(series.get('tidewire_session_closes_total{transport="websocket",cause="server_disconnect"}')).toBe(1);
    expect(series.get("tidewire_broadcasts_total")).toBe(1);
    expect(series.get("tidewire_deliveries_total")).toBe(3);
    expect(series.get("tidewire_packets_received_total")).toBeGreaterThanOrEqual(8);
    expect(series.get("tidewire_packets_sent_total")).toBeGreaterThanOrEqual(10);
    expect(series.get("tidewire_bytes_sent_total")).toBeGreaterThan(0);
    expect(series.get("tidewire_ack_timeouts_total")).toBe(0);
    expect(series.get("tidewire_draining")).toBe(0);
    expect(series.get("tidewire_ack_round_trip_seconds_count")).toBe(3);
    expect(series.get('tidewire_ack_round_trip_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(series.get('tidewire_ack_round_trip_seconds_bucket{le="10"}')).toBe(3);
    const sum = series.get("tidewire_ack_round_trip_seconds_sum")!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(3);

    void h.io.drain({ durationMs: 50 });
    expect((await rawRequest(`${h.url}/socket.io/?EIO=4&transport=polling`)).status).toBe(503);
    const after = parse(await register.metrics());
    expect(after.get('tidewire_handshake_refusals_total{cause="server_drain"}')).toBe(1);
    expect(after.get("tidewire_draining")).toBe(1);
  });

  it("samples one ack in ackSampleEvery, labels every series, and unregisters", async () => {
    const h = await server();
    const register = new client.Registry();
    const unregister = registerMetrics(h.io, { register, ackSampleEvery: 4, labels: { node: "a" }, prefix: "tw_" });
    const { client: c, socket } = await connectPair(h, "websocket");
    c.on("q", (cb: (v: number) => void) => cb(1));
    for (let i = 0; i < 8; i++) await socket.emitWithAck("q");
    const series = parse(await register.metrics());
    expect(series.get('tw_ack_round_trip_seconds_count{node="a"}')).toBe(2);
    expect(series.get('tw_sessions{transport="websocket",node="a"}')).toBe(1);
    expect(() => registerMetrics(h.io, { register, prefix: "tw_" })).toThrow(/already been registered/);
    unregister();
    expect(await register.metrics()).toBe("\n");
    expect(h.io.stats().ackRtt.sampleEvery).toBe(0);
  });

  it("works with the OpenMetrics registry and prom-client's default registry alongside default metrics", async () => {
    const h = await server();
    const open = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
    onClose(registerMetrics(h.io, { register: open }));
    await connectPair(h, "polling");
    const text = await open.metrics();
    expect(text).toContain('tidewire_handshakes_total{transport="polling"} 1');
    expect(text.trimEnd().endsWith("# EOF")).toBe(true);
    const json = await open.getMetricsAsJSON();
    expect(json.find((m: any) => m.name === "tidewire_sessions")?.values).toContainEqual({ value: 1, labels: { transport: "polling" } });
  });

  it("refuses what is not a registry, with a hint", async () => {
    const h = await server();
    expect(() => registerMetrics(h.io, {} as any)).toThrow(/prom-client Registry/);
  });
});
