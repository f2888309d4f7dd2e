/**
 * What a node puts on Redis, observed by a plain subscriber and decoded with
 * the reference's own codec (notepack.io): channel names and message shapes
 * of @socket.io/redis-adapter 8.3 (classic and sharded), binary as raw bytes,
 * and the work each node does per broadcast.
 */
import { afterEach, describe, expect, it } from "vitest";
import notepack from "notepack.io";
import { againstReference, closeAll, connectClient, rawRedis, startNode, startNodes, uniqueKey, until, waitFor } from "./helpers/cluster.js";

afterEach(closeAll);

interface Seen {
  channel: string;
  raw: Buffer;
}

/** Subscribes a raw client to `patterns` (or shard `channels`) and collects what arrives. */
async function observe(opts: { patterns?: string[]; shardChannels?: string[] }): Promise<Seen[]> {
  const sub = await rawRedis();
  const seen: Seen[] = [];
  const listener = (raw: Buffer, channel: Buffer | string) => seen.push({ channel: channel.toString(), raw });
  for (const p of opts.patterns ?? []) await sub.pSubscribe(p, listener, true);
  for (const c of opts.shardChannels ?? []) await sub.sSubscribe(c, listener, true);
  return seen;
}

const decode = (raw: Buffer) => (raw[0] === 0x7b ? JSON.parse(raw.toString()) : notepack.decode(raw));

async function next(seen: Seen[], predicate: (s: Seen) => boolean, what: string): Promise<Seen> {
  let found: Seen | undefined;
  await until(() => (found = seen.find(predicate)) !== undefined, 3000, what);
  return found!;
}

describe("classic pub/sub wire format", () => {
  it("broadcasts: [uid, packet, {rooms, except, flags}] in msgpack on <key>#<nsp># or <key>#<nsp>#<room>#", async () => {
    const key = uniqueKey();
    const seen = await observe({ patterns: [`${key}#*`] });
    const a = await startNode({ key, name: "a" });
    const uid = await a.call("uid");
    await a.call("emit", { event: "all", args: [1, "two", { three: 3 }] });
    const all = await next(seen, (s) => s.channel === `${key}#/#`, "broadcast on the namespace channel");
    expect(decode(all.raw)).toEqual([uid, { type: 2, data: ["all", 1, "two", { three: 3 }], nsp: "/" }, { rooms: [], except: [], flags: {} }]);

    await a.call("emit", { event: "one", rooms: ["r1"], except: ["r9"], volatile: true, compress: false });
    const one = await next(seen, (s) => s.channel === `${key}#/#r1#`, "broadcast on the room channel");
    expect(decode(one.raw)).toEqual([
      uid,
      { type: 2, data: ["one"], nsp: "/" },
      { rooms: ["r1"], except: ["r9"], flags: { volatile: true, compress: false } },
    ]);

    await a.call("emit", { event: "two", rooms: ["r1", "r2"], nsp: "/admin" });
    const two = await next(seen, (s) => s.channel === `${key}#/admin#`, "multi-room broadcast on the namespace channel");
    expect(decode(two.raw)[1]).toEqual({ type: 2, data: ["two"], nsp: "/admin" });
    expect(decode(two.raw)[2].rooms).toEqual(["r1", "r2"]);

    const before = seen.length;
    await a.call("emit", { event: "local", local: true });
    await a.call("emit", { event: "marker" });
    await next(seen, (s) => decode(s.raw)[1]?.data?.[0] === "marker", "marker");
    expect(seen.slice(before).map((s) => decode(s.raw)[1].data[0])).toEqual(["marker"]);
  });

  it("binary travels as raw bytes: a 100 KB buffer costs a few bytes of framing, no base64", async () => {
    const key = uniqueKey();
    const seen = await observe({ patterns: [`${key}#*`] });
    const a = await startNode({ key, name: "a" });
    const payload = Buffer.alloc(100_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    await a.call("emit", { event: "bin", args: [payload] });
    const msg = await next(seen, (s) => s.channel === `${key}#/#`, "binary broadcast");
    expect(msg.raw.indexOf(payload)).toBeGreaterThan(0);
    expect(msg.raw.length).toBeLessThan(payload.length + 200);
    expect(Buffer.from(decode(msg.raw)[1].data[1]).equals(payload)).toBe(true);
  });

  it("requests: JSON on <key>-request#<nsp>#, broadcast-with-ack in msgpack; responses on <key>-response#<nsp>#", async () => {
    const key = uniqueKey();
    const seen = await observe({ patterns: [`${key}-request#*`, `${key}-response#*`] });
    const [a, b] = await startNodes([
      { key, name: "a" },
      { key, name: "b" },
    ]);
    const uid = await a.call("uid");
    const requests = () => seen.filter((s) => s.channel === `${key}-request#/#`).map((s) => decode(s.raw));

    await a.call("socketsJoin", { rooms: ["r1"], except: ["r2"], room: "j" });
    await a.call("socketsLeave", { rooms: ["r1"], room: ["j", "k"] });
    await a.call("disconnectSockets", { rooms: ["nobody"], close: true });
    await a.call("serverSideEmit", { event: "sse", args: ["x", 1] });
    await until(() => requests().length === 4, 3000, "four requests");
    expect(requests()).toEqual([
      { uid, type: 2, opts: { rooms: ["r1"], except: ["r2"] }, rooms: ["j"] },
      { uid, type: 3, opts: { rooms: ["r1"], except: [] }, rooms: ["j", "k"] },
      { uid, type: 4, opts: { rooms: ["nobody"], except: [] }, close: true },
      { uid, type: 6, data: ["sse", "x", 1] },
    ]);

    await connectClient(b, { user: "b1", rooms: ["r1"] });
    await a.call("fetchSockets", { rooms: ["r1"] });
    const fetch = requests().find((r) => r.type === 5);
    expect(fetch).toEqual({ uid, requestId: expect.any(String), type: 5, opts: { rooms: ["r1"], except: [] } });
    const answer = seen.find((s) => s.channel === `${key}-response#/#` && decode(s.raw).requestId === fetch.requestId)!;
    expect(answer.raw[0]).toBe(0x7b);
    expect(decode(answer.raw).sockets).toEqual([
      expect.objectContaining({ id: expect.any(String), rooms: expect.arrayContaining(["r1"]), data: { node: "b", user: "b1" } }),
    ]);

    await a.call("emitWithAck", { event: "ask", timeout: 200 }).catch(() => {});
    const withAck = seen.find((s) => s.channel === `${key}-request#/#` && s.raw[0] !== 0x7b)!;
    expect(decode(withAck.raw)).toEqual({
      uid,
      requestId: expect.any(String),
      type: 7,
      packet: { type: 2, data: ["ask"], nsp: "/" },
      opts: { rooms: [], except: [], flags: { timeout: 200 } },
    });
    const count = seen.find((s) => s.channel === `${key}-response#/#` && decode(s.raw).type === 8)!;
    expect(decode(count.raw)).toEqual({ type: 8, requestId: decode(withAck.raw).requestId, clientCount: 1 });
  });

  it.runIf(!againstReference)("publishOnSpecificResponseChannel answers on <key>-response#<nsp>#<requester uid>#", async () => {
    const key = uniqueKey();
    const seen = await observe({ patterns: [`${key}-response#*`] });
    const [a, b] = await startNodes(
      ["a", "b"].map((name) => ({ key, name, adapterOpts: { publishOnSpecificResponseChannel: true } })),
    );
    await connectClient(b, { user: "b1" });
    const uid = await a.call("uid");
    expect((await a.call("fetchSockets", {})).length).toBe(1);
    expect(seen.map((s) => s.channel)).toEqual([`${key}-response#/#${uid}#`]);
  });
});

describe("sharded pub/sub wire format", () => {
  it("publishes {uid, nsp, type, data} on <prefix>#<nsp># and room channels in dynamic mode", async () => {
    const key = uniqueKey();
    const seen = await observe({ shardChannels: [`${key}#/#`, `${key}#/#room1#`] });
    const a = await startNode({ key, name: "a", sharded: true });
    const uid = await a.call("uid");
    await a.call("emit", { event: "all", args: [1] });
    const all = await next(seen, (s) => s.channel === `${key}#/#`, "broadcast on the namespace channel");
    expect(all.raw[0]).toBe(0x7b);
    expect(decode(all.raw)).toEqual({ uid, nsp: "/", type: 3, data: { packet: { type: 2, data: ["all", 1] }, opts: { rooms: [], except: [], flags: {} } } });
    await a.call("emit", { event: "r", rooms: ["room1"], args: [Buffer.from([9, 9])] });
    const room = await next(seen, (s) => s.channel === `${key}#/#room1#`, "broadcast on the room channel");
    expect(room.raw[0]).not.toBe(0x7b);
    expect(decode(room.raw).data.packet.data[1]).toEqual(Buffer.from([9, 9]));
  });
});

describe.runIf(!againstReference)("work per broadcast", () => {
  it("encodes once per node, and a node without members of the room does nothing", async () => {
    const key = uniqueKey();
    const [a, b, c] = await startNodes(["a", "b", "c"].map((name) => ({ key, name })));
    const onB = await Promise.all([1, 2, 3, 4, 5].map((i) => connectClient(b, { user: `b${i}`, rooms: ["r"] })));
    const onC = await Promise.all([1, 2, 3, 4, 5].map((i) => connectClient(c, { user: `c${i}`, rooms: ["other"] })));
    const reset = () => Promise.all([a, b, c].map((n) => n.call("resetStats")));
    const stats = () => Promise.all([a, b, c].map((n) => n.call("stats")));
    /** The broadcast, then a barrier to everyone: Redis delivers in order, so each node has handled both. */
    const deliver = async (args: Record<string, unknown>) => {
      const got = onB.map((s) => waitFor(s, args.event as string));
      const barrier = [...onB, ...onC].map((s) => waitFor(s, "barrier"));
      await a.call("emit", args);
      await a.call("emit", { event: "barrier" });
      await Promise.all([...got, ...barrier]);
    };

    await reset();
    await deliver({ event: "to-r", rooms: ["r"] });
    let [sa, sb, sc] = await stats();
    expect(sa).toMatchObject({ redisEncodes: 2 });
    // One Socket.IO encoding per message for the five recipients of each.
    expect(sb).toEqual({ packetEncodes: 2, redisDecodes: 2, redisEncodes: 0 });
    // The single-room channel lets c skip the first message without reading it: only the barrier counts.
    expect(sc).toEqual({ packetEncodes: 1, redisDecodes: 1, redisEncodes: 0 });

    await reset();
    await deliver({ event: "to-r-or-s", rooms: ["r", "s"] });
    [sa, sb, sc] = await stats();
    expect(sb).toEqual({ packetEncodes: 2, redisDecodes: 2, redisEncodes: 0 });
    // A multi-room message is read, but nothing is encoded or sent for it.
    expect(sc).toEqual({ packetEncodes: 1, redisDecodes: 2, redisEncodes: 0 });
  });
});
