/**
 * The cross-node scenarios, run by the test files of this directory over
 * several cluster configurations: 3 nodes (a, b, c) of given implementations
 * over one Redis client kind, classic or sharded pub/sub. Node a acts; in
 * mixed clusters a is either tidewire or socket.io + @socket.io/redis-adapter.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import {
  closeAll,
  connectClient,
  record,
  startNodes,
  uniqueKey,
  until,
  waitFor,
  type ClientKind,
  type Impl,
  type TestNode,
} from "./cluster.js";

export interface Config {
  name: string;
  client: ClientKind;
  impls: [Impl, Impl, Impl];
  sharded: boolean;
  /** Extra environment for the nodes, read when a test starts them. */
  env?: () => Record<string, string>;
}

export const T: Impl = "tidewire";
export const S: Impl = "socket.io";
/** tidewire's Server with the official @socket.io/redis-adapter (its behaviour is the reference adapter's). */
export const TR: Impl = "tidewire+redis-adapter";

interface Cluster {
  a: TestNode;
  b: TestNode;
  c: TestNode;
  clients: Record<string, ClientSocket>;
  got: Record<string, Array<[string, ...any[]]>>;
}

/**
 * Nodes a, b, c and clients: a1 on a (r1); b1 (r1, r2) and b2 (r2) on b;
 * c1 on c (no room); adm on c in namespace /admin (r1). Every client
 * answers "ask" acks with its name.
 */
async function cluster(config: Config, extraOpts: Record<string, unknown> = {}): Promise<Cluster> {
  const key = uniqueKey();
  const [a, b, c] = await startNodes(
    config.impls.map((impl, i) => ({
      impl,
      client: config.client,
      key,
      sharded: config.sharded,
      name: "abc"[i],
      adapterOpts: { requestsTimeout: 3000, ...extraOpts },
      env: config.env?.(),
    })),
  );
  const specs: Array<[string, TestNode, string[], string?]> = [
    ["a1", a, ["r1"]],
    ["b1", b, ["r1", "r2"]],
    ["b2", b, ["r2"]],
    ["c1", c, []],
    ["adm", c, ["r1"], "/admin"],
  ];
  const clients: Record<string, ClientSocket> = {};
  const got: Record<string, Array<[string, ...any[]]>> = {};
  await Promise.all(
    specs.map(async ([user, node, rooms, nsp]) => {
      const socket = await connectClient(node, { user, rooms, nsp });
      socket.on("ask", (...args: any[]) => args[args.length - 1](user));
      clients[user] = socket;
      got[user] = record(socket);
    }),
  );
  const cl = { a, b, c, clients, got };
  if (config.sharded) await roomsReady(cl);
  return cl;
}

/**
 * Runs `action` and checks that exactly the clients `expected` received
 * `event`: waits for them, then sends a barrier broadcast from the same node
 * to everyone, which (on one Redis) arrives after anything `action` sent, so
 * a delivery to someone else would have shown up by then.
 */
async function expectReceivers(cl: Cluster, from: TestNode, event: string, action: () => Promise<unknown>, expected: string[]): Promise<void> {
  await action();
  await until(() => expected.every((u) => cl.got[u].some(([ev]) => ev === event)), 3000, `${expected} to receive ${event}`).catch(() => {});
  const barrier = `barrier-${Math.random().toString(36).slice(2)}`;
  const waits = Object.entries(cl.clients)
    .filter(([, s]) => s.connected)
    .map(([, s]) => waitFor(s, barrier, 4000));
  await from.call("emit", { event: barrier });
  await from.call("emit", { event: barrier, nsp: "/admin" });
  await Promise.all(waits);
  const actual = Object.entries(cl.got)
    .flatMap(([user, events]) => events.filter(([ev]) => ev === event).map(() => user))
    .sort();
  expect(actual).toEqual(expected);
}

/**
 * Room channels (sharded, dynamic mode) are subscribed when a room appears on
 * a node, asynchronously; on a Redis Cluster that subscription travels to
 * another shard. Waits until broadcasts to `room` reach all of `users`.
 */
async function roomReady(cl: Cluster, nsp: string, room: string, users: string[]): Promise<void> {
  const seen = new Set<string>();
  const listeners = users.map((u) => {
    const fn = () => seen.add(u);
    cl.clients[u].on("warm-up", fn);
    return () => cl.clients[u].off("warm-up", fn);
  });
  try {
    await until(
      async () => {
        await cl.a.call("emit", { event: "warm-up", nsp, rooms: [room] });
        await new Promise((r) => setTimeout(r, 20));
        return seen.size === users.length;
      },
      5000,
      `broadcasts to ${nsp} ${room} to reach ${users}`,
    );
  } finally {
    for (const off of listeners) off();
  }
}

/** roomReady for every room of the cluster layout, then forget the warm-up traffic. */
async function roomsReady(cl: Cluster): Promise<void> {
  await roomReady(cl, "/", "r1", ["a1", "b1"]);
  await roomReady(cl, "/", "r2", ["b1", "b2"]);
  await roomReady(cl, "/admin", "r1", ["adm"]);
  for (const events of Object.values(cl.got)) events.length = 0;
}

/** Registers the scenarios for each configuration (call at the top level of a test file). */
export function crossNodeSuite(configs: Config[]): void {
  afterEach(closeAll);
  // Each test starts three server processes: allow for a loaded machine.
  describe.each(configs)("cross-node over Redis: $name", { timeout: 30000 }, (config) => {
  it("broadcasts to the whole namespace, to rooms, except rooms, each client once", async () => {
    const cl = await cluster(config);
    const { a } = cl;
    await expectReceivers(cl, a, "all", () => a.call("emit", { event: "all", args: [1] }), ["a1", "b1", "b2", "c1"]);
    await expectReceivers(cl, a, "one", () => a.call("emit", { event: "one", rooms: ["r1"] }), ["a1", "b1"]);
    await expectReceivers(cl, a, "two", () => a.call("emit", { event: "two", rooms: ["r1", "r2"] }), ["a1", "b1", "b2"]);
    await expectReceivers(cl, a, "exc", () => a.call("emit", { event: "exc", except: ["r2"] }), ["a1", "c1"]);
    await expectReceivers(cl, a, "both", () => a.call("emit", { event: "both", rooms: ["r1"], except: ["r2"] }), ["a1"]);
    await expectReceivers(cl, a, "adm", () => a.call("emit", { event: "adm", nsp: "/admin", rooms: ["r1"] }), ["adm"]);
    const b1Id = cl.clients.b1.id;
    await expectReceivers(cl, a, "sid", () => a.call("emit", { event: "sid", rooms: [b1Id] }), ["b1"]);
  });

  it("carries payloads and binary intact, honours volatile and compress, and keeps local broadcasts local", async () => {
    const cl = await cluster(config);
    const { a } = cl;
    const payload = { text: "héllo ✓", n: 1.5, list: [null, true, { deep: [1, 2] }] };
    await expectReceivers(cl, a, "data", () => a.call("emit", { event: "data", args: [payload, Buffer.from([0, 1, 255]), "x"] }), ["a1", "b1", "b2", "c1"]);
    const [, gotPayload, gotBuffer, gotX] = cl.got.c1.find(([ev]) => ev === "data")!;
    expect(gotPayload).toEqual(payload);
    expect(Buffer.from(gotBuffer).equals(Buffer.from([0, 1, 255]))).toBe(true);
    expect(gotX).toBe("x");
    await expectReceivers(cl, a, "vol", () => a.call("emit", { event: "vol", volatile: true }), ["a1", "b1", "b2", "c1"]);
    await expectReceivers(cl, a, "nocomp", () => a.call("emit", { event: "nocomp", compress: false }), ["a1", "b1", "b2", "c1"]);
    await expectReceivers(cl, a, "loc", () => a.call("emit", { event: "loc", local: true }), ["a1"]);
    await expectReceivers(cl, cl.b, "locb", () => cl.b.call("emit", { event: "locb", local: true, rooms: ["r2"] }), ["b1", "b2"]);
  });

  it("collects broadcast acks from the clients of every node, and partial ones on timeout", async () => {
    const cl = await cluster(config);
    expect(await cl.a.call("emitWithAck", { event: "ask", timeout: 3000 })).toEqual(["a1", "b1", "b2", "c1"]);
    expect(await cl.a.call("emitWithAck", { event: "ask", timeout: 3000, rooms: ["r2"] })).toEqual(["b1", "b2"]);
    // b2 stops answering: the others' acks arrive, then the timeout reports them.
    cl.clients.b2.off("ask");
    const err = await cl.a.call("emitWithAck", { event: "ask", timeout: 800 }).then(
      () => null,
      (e: any) => e,
    );
    expect(err?.message).toBe("operation has timed out");
    expect([...err.responses].sort()).toEqual(["a1", "b1", "c1"]);
  });

  it("fetchSockets returns local sockets and remote ones with id, handshake, rooms and data; serverCount counts the nodes", async () => {
    const cl = await cluster(config);
    const all = await cl.a.call("fetchSockets", {});
    expect(all.map((s: any) => s.data.user).sort()).toEqual(["a1", "b1", "b2", "c1"]);
    const b1 = all.find((s: any) => s.data.user === "b1");
    expect(b1).toMatchObject({ id: cl.clients.b1.id, data: { node: "b", user: "b1" }, local: false });
    expect(b1.rooms).toEqual([cl.clients.b1.id, "r1", "r2"].sort());
    expect(b1.auth).toEqual({ user: "b1", rooms: ["r1", "r2"] });
    expect(all.find((s: any) => s.data.user === "a1").local).toBe(true);
    const inR2 = await cl.a.call("fetchSockets", { rooms: ["r2"] });
    expect(inR2.map((s: any) => s.data.user).sort()).toEqual(["b1", "b2"]);
    const except = await cl.a.call("fetchSockets", { except: ["r1"] });
    expect(except.map((s: any) => s.data.user).sort()).toEqual(["b2", "c1"]);
    const admin = await cl.a.call("fetchSockets", { nsp: "/admin" });
    expect(admin.map((s: any) => s.data.user)).toEqual(["adm"]);
    const local = await cl.a.call("fetchSockets", { local: true });
    expect(local.map((s: any) => s.data.user)).toEqual(["a1"]);
    for (const node of [cl.a, cl.b, cl.c]) expect(await node.call("serverCount")).toBe(3);
  });

  it("RemoteSocket emit, emit with ack, join, leave and disconnect act on the remote socket", async () => {
    const cl = await cluster(config);
    const { a, clients } = cl;
    const id = clients.b2.id;
    const got = waitFor(clients.b2, "direct");
    await a.call("remote", { id, op: "emit", event: "direct", args: ["to you"] });
    expect((await got)[0]).toBe("to you");
    expect(await a.call("remote", { id, op: "emitWithAck", event: "ask" })).toBe("b2");
    await a.call("remote", { id, op: "join", room: "vip" });
    await until(async () => (await a.call("fetchSockets", { rooms: ["vip"] })).length === 1, 3000, "b2 in vip");
    if (config.sharded) await roomReady(cl, "/", "vip", ["b2"]);
    await expectReceivers(cl, a, "vipnews", () => a.call("emit", { event: "vipnews", rooms: ["vip"] }), ["b2"]);
    await a.call("remote", { id, op: "leave", room: "vip" });
    await until(async () => (await a.call("fetchSockets", { rooms: ["vip"] })).length === 0, 3000, "b2 out of vip");
    const gone = waitFor(clients.b2, "disconnect");
    await a.call("remote", { id, op: "disconnect", close: false });
    expect((await gone)[0]).toBe("io server disconnect");
    expect(clients.b1.connected).toBe(true);
  });

  it("socketsJoin and socketsLeave reach the matching sockets of every node", async () => {
    const cl = await cluster(config);
    const { a } = cl;
    await a.call("socketsJoin", { rooms: ["r2"], room: ["j1", "j2"] });
    await until(async () => (await a.call("fetchSockets", { rooms: ["j2"] })).length === 2, 3000, "r2 members in j2");
    if (config.sharded) await roomReady(cl, "/", "j1", ["b1", "b2"]);
    await expectReceivers(cl, a, "j", () => a.call("emit", { event: "j", rooms: ["j1"] }), ["b1", "b2"]);
    await a.call("socketsJoin", { except: ["r2"], room: "j3" });
    await until(async () => (await a.call("fetchSockets", { rooms: ["j3"] })).length === 2, 3000, "a1 and c1 in j3");
    expect((await a.call("fetchSockets", { rooms: ["j3"] })).map((s: any) => s.data.user).sort()).toEqual(["a1", "c1"]);
    await a.call("socketsLeave", { rooms: ["r1"], room: "j1" });
    await until(async () => (await a.call("fetchSockets", { rooms: ["j1"] })).length === 1, 3000, "b1 out of j1");
    expect((await a.call("fetchSockets", { rooms: ["j1"] }))[0].data.user).toBe("b2");
  });

  it("disconnectSockets disconnects the matching sockets of every node", async () => {
    const cl = await cluster(config);
    const { clients } = cl;
    const reasons = ["a1", "b1"].map((u) => waitFor(clients[u], "disconnect"));
    await cl.a.call("disconnectSockets", { rooms: ["r1"], close: false });
    expect((await Promise.all(reasons)).map(([r]) => r)).toEqual(["io server disconnect", "io server disconnect"]);
    expect(clients.b2.connected && clients.c1.connected && clients.adm.connected).toBe(true);
    const closed = waitFor(clients.c1, "disconnect");
    await cl.a.call("disconnectSockets", { except: ["r2"], close: true });
    expect((await closed)[0]).toBe("io server disconnect");
    expect(clients.b2.connected).toBe(true);
  });

  it("serverSideEmit reaches the other nodes only, with acks as callback and as promise, binary included", async () => {
    const cl = await cluster(config);
    const { a, b, c } = cl;
    await a.call("serverSideEmit", { event: "sse", args: ["hi", { n: 1 }] });
    const logs: any[][] = [[], []];
    await until(
      async () => {
        logs[0].push(...(await b.call("sseLog")));
        logs[1].push(...(await c.call("sseLog")));
        return logs.every((l) => l.length > 0);
      },
      3000,
      "sse on b and c",
    );
    expect(logs).toEqual([[{ nsp: "/", args: ["hi", { n: 1 }] }], [{ nsp: "/", args: ["hi", { n: 1 }] }]]);
    expect(await a.call("sseLog")).toEqual([]);
    expect(await a.call("serverSideEmitWithAck", { event: "sse", args: ["q"] })).toEqual(["b:q", "c:q"]);
    expect(await a.call("serverSideEmitCallback", { event: "sse", args: ["cb"] })).toEqual({ error: null, responses: ["b:cb", "c:cb"] });

    await a.call("serverSideEmit", { event: "sse", args: ["bin", Buffer.from([1, 2, 3])] });
    let entry: any;
    await until(
      async () => {
        entry ??= (await b.call("sseLog")).find((e: any) => e.args[0] === "bin");
        return entry !== undefined;
      },
      3000,
      "binary sse on b",
    );
    // The reference sends requests as JSON, where a Buffer becomes {type, data}; tidewire sends raw bytes.
    const arg = entry.args[1];
    if (a.impl === "tidewire" && b.impl === "tidewire") expect(arg).toEqual({ buffer: [1, 2, 3] });
    else expect(arg.buffer ?? arg.data).toEqual([1, 2, 3]);
  });

  it.runIf(!config.sharded)("allRooms lists the rooms of every node; allSockets the socket ids", async () => {
    const cl = await cluster(config);
    const rooms = await cl.a.call("allRooms");
    const ids = ["a1", "b1", "b2", "c1"].map((u) => cl.clients[u].id);
    expect(rooms).toEqual([...ids, "r1", "r2"].sort());
    expect(await cl.a.call("allRooms", { nsp: "/admin" })).toEqual([cl.clients.adm.id, "r1"].sort());
    // allSockets (deprecated): tidewire asks every node; the reference adapter answers with local ids only.
    if (cl.a.impl === "tidewire") {
      expect(await cl.a.call("allSockets", {})).toEqual(ids.sort());
      expect(await cl.a.call("allSockets", { rooms: ["r2"] })).toEqual([cl.clients.b1.id, cl.clients.b2.id].sort());
    }
  });
});
}
