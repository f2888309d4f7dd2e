/**
 * Mixed clusters: tidewire nodes and socket.io 4.8 nodes with the official
 * @socket.io/redis-streams-adapter 0.3.1 share one stream, one set of
 * channels and one set of session keys: operations cross in both directions,
 * and a client recovers when it moves from one kind of node to the other.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { balancer, closeAll, makeClient, missingRequirement, recordEvents, startNodes, uniqueKey, until, waitFor, type TestNode } from "./helpers.js";

const missing = await missingRequirement();
afterEach(closeAll);

const withoutOffset = (e: [string, ...unknown[]]) => (typeof e.at(-1) === "string" && /^\d+-\d+$/.test(e.at(-1) as string) ? e.slice(0, -1) : e);

async function connectAll(nodes: TestNode[], room: string) {
  const clients: ClientSocket[] = [];
  for (const node of nodes) {
    const c = makeClient(node.url, { user: node.name, rooms: [room] });
    await waitFor(c, "connect", 5000);
    clients.push(c);
  }
  return clients;
}

describe.skipIf(missing !== null)("tidewire and socket.io + @socket.io/redis-streams-adapter in one cluster", () => {
  it("broadcasts, counts nodes, fetches sockets and exchanges server-side events both ways", async () => {
    const key = uniqueKey();
    const nodes = await startNodes([
      { key, name: "T1" },
      { key, name: "S1", impl: "socket.io" },
      { key, name: "T2", client: "ioredis" },
    ]);
    const [t1, s1, t2] = nodes;
    const clients = await connectAll(nodes, "room");
    const got = clients.map((c) => recordEvents(c, ["hello"]));
    for (const [i, from] of [t1, s1].entries()) {
      await from.call("emit", { rooms: ["room"], event: "hello", args: [from.name, { n: i }] });
      await until(() => got.every((g) => g.length === i + 1), 4000, `broadcast from ${from.name} reaches every node`);
      for (const g of got) expect(withoutOffset(g[i])).toEqual(["hello", from.name, { n: i }]);
    }
    for (const node of nodes) expect(await node.call("serverCount")).toBe(3);
    for (const from of [t1, s1]) {
      const sockets = await from.call("fetchSockets", { rooms: ["room"] });
      expect(sockets.map((s: any) => s.data.user).sort()).toEqual(["S1", "T1", "T2"]);
      const answers = await from.call("serverSideEmitWithAck", { event: "sse", args: ["ping"] });
      expect(answers).toEqual(nodes.filter((n) => n !== from).map((n) => `${n.name}:ping`).sort());
    }
    // A room join decided on the reference node reaches a tidewire node's socket.
    await s1.call("socketsJoin", { rooms: ["room"], room: "joined" });
    await until(async () => (await t2.call("fetchSockets", { rooms: ["joined"] })).length === 3, 4000, "socketsJoin crosses");
  });

  it("with tracing on the tidewire nodes: the official node acts on traced messages, and the other tidewire node continues the trace", async () => {
    const key = uniqueKey();
    const tracing = { TRACING: "1" };
    const nodes = await startNodes([
      { key, name: "T1", env: tracing },
      { key, name: "S1", impl: "socket.io" },
      { key, name: "T2", client: "ioredis", env: tracing },
    ]);
    const [t1, s1, t2] = nodes;
    const clients = await connectAll(nodes, "room");
    const got = clients.map((c) => recordEvents(c, ["hello"]));
    await t1.call("emit", { rooms: ["room"], event: "hello", args: ["traced"] });
    await until(() => got.every((g) => g.length === 1), 4000, "a traced broadcast reaches every node");
    for (const g of got) expect(withoutOffset(g[0])).toEqual(["hello", "traced"]);
    expect(await t1.call("serverSideEmitWithAck", { event: "sse", args: ["ping"] })).toEqual(["S1:ping", "T2:ping"]);
    expect((await s1.call("fetchSockets", { rooms: ["room"] })).length).toBe(3);
    const uid = await t1.call("uid");
    await until(async () => (await t2.call("spans")).some((sp: any) => sp.name === "process sse"), 4000, "T2's spans");
    const [spans1, spans2] = [await t1.call("spans"), await t2.call("spans")];
    for (const [sent, received] of [["send hello", "process hello"], ["serverSideEmit", "process sse"]]) {
      const origin = spans1.find((sp: any) => sp.name === sent);
      expect(origin, sent).toBeDefined();
      expect(spans2.find((sp: any) => sp.name === received && sp.origin === uid), received).toMatchObject({ traceId: origin.traceId, parentSpanId: origin.spanId });
    }
  });

  for (const [fromImpl, toImpl] of [
    ["tidewire", "socket.io"],
    ["socket.io", "tidewire"],
  ] as const) {
    it(`recovers a client that moves from a ${fromImpl} node to a ${toImpl} node`, async () => {
      const key = uniqueKey();
      const [from, to, other] = await startNodes([
        { key, name: "FROM", impl: fromImpl },
        { key, name: "TO", impl: toImpl },
        { key, name: "OTHER", impl: toImpl === "tidewire" ? "socket.io" : "tidewire" },
      ]);
      let target = from.port;
      const lb = await balancer(() => target);
      const client = makeClient(lb.url, { user: "mover", rooms: ["r"] });
      const got = recordEvents(client, ["m"]);
      await waitFor(client, "connect", 5000);
      const sid = client.id;
      // The reference needs an offset: the client receives one packet first.
      await other.call("emit", { rooms: ["r"], event: "m", args: [0] });
      await until(() => got.length === 1, 3000, "first packet");
      target = 0;
      const disconnected = waitFor(client, "disconnect", 5000);
      lb.drop();
      await disconnected;
      // The node the client left must have saved the session (at its disconnect) before the move.
      await until(async () => (await from.call("localCount")) === 0, 4000, "the old node notices");
      for (let i = 1; i <= 3; i++) await other.call("emit", { rooms: ["r"], event: "m", args: [i] });
      await other.call("emit", { rooms: ["not-r"], event: "m", args: ["never"] });
      target = to.port;
      await waitFor(client, "connect", 8000);
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(sid);
      await until(() => got.length === 4, 4000, "the missed packets");
      expect(got.map(withoutOffset)).toEqual([["m", 0], ["m", 1], ["m", 2], ["m", 3]]);
      const [conn] = await to.call("connections");
      expect(conn).toMatchObject({ sid, recovered: true, rooms: [sid, "r"].sort(), data: { node: "FROM", user: "mover" } });
      // Live traffic continues after the recovery.
      await other.call("emit", { rooms: ["r"], event: "m", args: [4] });
      await until(() => got.length === 5, 3000, "a live packet");
    });
  }
});
