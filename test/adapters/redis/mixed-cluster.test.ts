/**
 * Mixed clusters: tidewire nodes and socket.io 4.8 nodes with
 * @socket.io/redis-adapter 8.3 in one cluster, each side acting, over
 * classic and sharded pub/sub. With tracing on (tidewire/otel and the
 * OpenTelemetry SDK in the tidewire nodes), broadcasts and requests carry
 * the trace context, which the official nodes ignore: the whole suite runs
 * again that way, and the context reaches the tidewire node behind an
 * official one.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, connectClient, startNodes, uniqueKey, until, waitFor } from "./helpers/cluster.js";
import { S, T, crossNodeSuite } from "./helpers/scenarios.js";

const tracing = () => ({ TRACING: "1" });

crossNodeSuite([
  { name: "mixed, tidewire acting, classic, redis5", client: "redis5", impls: [T, S, T], sharded: false },
  { name: "mixed, socket.io acting, classic, ioredis", client: "ioredis", impls: [S, T, S], sharded: false },
  { name: "mixed, tidewire acting, sharded, ioredis", client: "ioredis", impls: [T, S, T], sharded: true },
  { name: "mixed, socket.io acting, sharded, redis5", client: "redis5", impls: [S, T, S], sharded: true },
  { name: "mixed, tidewire acting with tracing, classic, redis5", client: "redis5", impls: [T, S, T], sharded: false, env: tracing },
  { name: "mixed, tidewire acting with tracing, sharded, ioredis", client: "ioredis", impls: [T, S, T], sharded: true, env: tracing },
]);

describe.each([false, true])("trace context in a mixed cluster (sharded: %s)", { timeout: 30000 }, (sharded) => {
  afterEach(closeAll);

  it("a broadcast and a request from a traced tidewire node: the official node acts on them, the other tidewire node continues the trace", async () => {
    const key = uniqueKey();
    const [a, s, c] = await startNodes(
      [T, S, T].map((impl, i) => ({ impl, key, sharded, name: "asc"[i], client: "redis5" as const, env: impl === T ? tracing() : undefined })),
    );
    const onS = await connectClient(s, { user: "s1" });
    const onC = await connectClient(c, { user: "c1" });
    const gotS = waitFor(onS, "news");
    const gotC = waitFor(onC, "news");
    await a.call("emit", { event: "news", args: ["hi"] });
    expect((await gotS)[0]).toBe("hi");
    expect((await gotC)[0]).toBe("hi");
    expect(await a.call("serverSideEmitWithAck", { event: "sse", args: ["q"] })).toEqual(["c:q", "s:q"]);
    const uidA = await a.call("uid");
    await until(async () => (await c.call("spans")).some((sp: any) => sp.name === "process sse"), 5000, "c's spans");
    const spansA = await a.call("spans");
    const spansC = await c.call("spans");
    for (const [sent, received] of [["send news", "process news"], ["serverSideEmit", "process sse"]]) {
      const origin = spansA.find((sp: any) => sp.name === sent);
      const remote = spansC.find((sp: any) => sp.name === received);
      expect(origin, sent).toBeDefined();
      expect(remote, received).toMatchObject({ traceId: origin.traceId, parentSpanId: origin.spanId, origin: uidA });
    }
  });
});
