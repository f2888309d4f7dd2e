/**
 * What goes wrong around recovery: Redis restarting in the middle, a client
 * whose missed range was trimmed by maxLen, sessions that expire unrecovered
 * (reported once, by one node), and hostile or malformed stream entries
 * (ignored, logged, nothing crashes). Plus publishing from a process without
 * a server, in the official stream format (the emitter's).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  balancer,
  clusterOpts,
  closeAll,
  makeClient,
  missingRequirement,
  privateRedis,
  rawRedis,
  recordEvents,
  startNodes,
  uniqueKey,
  until,
  waitFor,
} from "./helpers.js";

const missing = await missingRequirement({ redisServer: true });
afterEach(closeAll);

const withoutOffset = (e: [string, ...unknown[]]) => (typeof e.at(-1) === "string" && /^\d+-\d+$/.test(e.at(-1) as string) ? e.slice(0, -1) : e);

describe.skipIf(missing !== null)("faults", () => {
  it("survives a Redis restart: traffic resumes, sessions are written again, a client then recovers", async () => {
    const redis = await privateRedis();
    const key = uniqueKey();
    const adapterOpts = { recovery: { snapshotInterval: 300 } };
    const [a, b] = await startNodes([
      { key, name: "A", redisUrl: redis.url, adapterOpts },
      { key, name: "B", redisUrl: redis.url, adapterOpts, client: "ioredis" },
    ]);
    let target = a.port;
    const lb = await balancer(() => target);
    const client = makeClient(lb.url, { user: "survivor", rooms: ["r"] });
    const got = recordEvents(client, ["m"]);
    await waitFor(client, "connect", 5000);
    await b.call("emit", { rooms: ["r"], event: "m", args: ["before"] });
    await until(() => got.length === 1, 3000, "a broadcast before the restart");

    await redis.kill();
    await b.call("emit", { rooms: ["r"], event: "m", args: ["lost while Redis is down"] }).catch(() => {});
    await redis.start();
    // Broadcasts resume once both nodes are reconnected and reading the (new, empty) stream.
    let n = 0;
    await until(
      async () => {
        await b.call("emit", { rooms: ["r"], event: "m", args: [`after-${n++}`] });
        return got.some((e) => String(e[1]).startsWith("after-"));
      },
      10000,
      "broadcasts to flow again after the restart",
    );
    // The session, lost with Redis, is written again by the periodic snapshot.
    const sid = client.id;
    await until(async () => (await (await rawRedis(redis.url)).keys(`${key}:session:*`)).length === 1, 5000, "the session rewritten");

    target = 0;
    const disconnected = waitFor(client, "disconnect", 5000);
    lb.drop();
    await disconnected;
    await b.call("emit", { rooms: ["r"], event: "m", args: ["missed"] });
    target = b.port;
    await waitFor(client, "connect", 8000);
    expect(client.recovered).toBe(true);
    expect(client.id).toBe(sid);
    await until(() => got.at(-1)?.[1] === "missed", 3000, "the missed packet");
    const names = got.map((e) => e[1]);
    expect(names.filter((x) => x === "missed")).toHaveLength(1);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
  });

  it("a client whose missed range was trimmed gets a fresh session and the reason", async () => {
    const key = uniqueKey();
    const [a, b] = await startNodes([
      { key, name: "A", adapterOpts: { maxLen: 10 } },
      { key, name: "B", adapterOpts: { maxLen: 10 } },
    ]);
    let target = a.port;
    const lb = await balancer(() => target);
    const client = makeClient(lb.url, { user: "slow", rooms: ["r"] });
    const got = recordEvents(client, ["m"]);
    await waitFor(client, "connect", 5000);
    await b.call("emit", { rooms: ["r"], event: "m", args: [0] });
    await until(() => got.length === 1, 3000, "first packet");
    target = 0;
    const disconnected = waitFor(client, "disconnect", 5000);
    lb.drop();
    await disconnected;
    // MAXLEN ~ trims whole nodes of 100 entries: 300 entries push the client's offset out.
    for (let i = 1; i <= 300; i++) await b.call("emit", { rooms: ["r"], event: "m", args: [i] });
    target = b.port;
    await waitFor(client, "connect", 8000);
    expect(client.recovered).toBe(false);
    const [conn] = await b.call("connections");
    expect(conn).toMatchObject({ recovered: false, reason: "trimmed" });
    expect(got).toHaveLength(1);
  });

  it("reports a session that expired unrecovered once, by one node, also when its node was killed", async () => {
    const key = uniqueKey();
    const opts = { recoveryMs: 1000, adapterOpts: { recovery: { snapshotInterval: 300, sweepInterval: 200 } } };
    const [a, b, c] = await startNodes([
      { key, name: "A", ...opts },
      { key, name: "B", ...opts },
      { key, name: "C", ...opts },
    ]);
    let target = a.port;
    const lb = await balancer(() => target);
    const gone = makeClient(lb.url, { user: "gone", rooms: ["r1"] });
    await waitFor(gone, "connect", 5000);
    const crashed = makeClient(c.url, { user: "crashed", rooms: ["r2"] });
    await waitFor(crashed, "connect", 5000);
    const ids = { gone: gone.id, crashed: crashed.id };
    await until(async () => (await (await rawRedis()).keys(`${key}:session:*`)).length === 2, 3000, "sessions written");
    // One client drops off the network for good; the other's node dies.
    target = 0;
    gone.io.opts.reconnection = false;
    crashed.io.opts.reconnection = false;
    lb.drop();
    await c.kill("SIGKILL");
    const events: any[] = [];
    await until(
      async () => {
        for (const node of [a, b]) events.push(...(await node.call("expired")));
        return events.length >= 2;
      },
      8000,
      "both sessions reported expired",
    );
    await new Promise((r) => setTimeout(r, 600)); // a few more sweeps: nothing reported twice
    for (const node of [a, b]) events.push(...(await node.call("expired")));
    expect(events.map((e) => e.sid).sort()).toEqual([ids.gone, ids.crashed].sort());
    expect(events.find((e) => e.sid === ids.gone)).toMatchObject({ nsp: "/", rooms: [ids.gone, "r1"].sort(), data: { node: "A", user: "gone" } });
    expect(events.find((e) => e.sid === ids.crashed)).toMatchObject({ rooms: [ids.crashed, "r2"].sort(), data: { node: "C", user: "crashed" } });
  });

  it("ignores hostile or malformed stream entries (logged), live and during a replay; nothing crashes", async () => {
    const key = uniqueKey();
    const [a, b] = await startNodes([
      { key, name: "A", env: { DEBUG: "tidewire:redis-streams:*,tidewire:adapter:*" } },
      { key, name: "B", impl: "tidewire" },
    ]);
    const stream = clusterOpts(key).streamName as string;
    const redis = await rawRedis();
    let target = a.port;
    const lb = await balancer(() => target);
    const client = makeClient(lb.url, { user: "target", rooms: ["r"] });
    const got = recordEvents(client, ["m", "connect", "disconnect", "x"]);
    await waitFor(client, "connect", 5000);
    await b.call("emit", { rooms: ["r"], event: "m", args: ["first"] });
    await until(() => got.length === 1, 3000, "first");
    const packet = (data: unknown[], opts: unknown = { rooms: ["r"], except: [] }) => JSON.stringify({ packet: { type: 2, data }, opts });
    const hostile: Array<Record<string, string>> = [
      { uid: "evil", nsp: "/" },
      { uid: "evil", nsp: "/", type: "3", data: "{not json" },
      { uid: "evil", nsp: "/", type: "3", data: "!!!!not-base64-msgpack" },
      { uid: "evil", nsp: "/", type: "3", data: Buffer.from([0xc1, 0xff, 0x00]).toString("base64") },
      { uid: "evil", nsp: "/", type: "99999", data: "{}" },
      { uid: "evil", nsp: "/", type: "3", data: packet(["connect"]) },
      { uid: "evil", nsp: "/", type: "3", data: packet(["x"], { rooms: "r" }) },
      { uid: "evil", nsp: "/", type: "3", data: '{"__proto__":{"polluted":1},"packet":{"type":2,"data":["x"],"__proto__":{"id":1}},"opts":{"rooms":["nobody"],"__proto__":{"rooms":["r"]}}}' },
      { uid: "evil", nsp: "/", type: "3", data: JSON.stringify({ packet: { type: 2, id: 7, data: ["x"] }, opts: { rooms: ["r"], except: [] } }) },
      { uid: "evil", nsp: "/", type: "3", data: "[" .repeat(100000) },
      { uid: "evil", nsp: "/", type: "4", data: JSON.stringify({ opts: { rooms: 5 }, rooms: ["z"] }) },
      { uid: "evil", nsp: "/", type: "9", data: JSON.stringify({ packet: "not-an-array" }) },
      { uid: "evil", nsp: "/admin/../", type: "3", data: packet(["x"]) },
    ];
    const add = (fields: Record<string, string>) => redis.sendCommand(["XADD", stream, "*", ...Object.entries(fields).flat()]);
    for (const fields of hostile) await add(fields);
    await b.call("emit", { rooms: ["r"], event: "m", args: ["after hostile"] });
    await until(() => got.length === 2, 3000, "a valid broadcast after the hostile entries");
    // The same entries inside a replayed range.
    target = 0;
    const disconnected = waitFor(client, "disconnect", 5000);
    lb.drop();
    await disconnected;
    for (const fields of hostile) await add(fields);
    await b.call("emit", { rooms: ["r"], event: "m", args: ["missed"] });
    target = b.port;
    await waitFor(client, "connect", 8000);
    expect(client.recovered).toBe(true);
    await until(() => got.some((e) => e[0] === "m" && e[1] === "missed"), 3000, "the missed packet");
    expect(got.filter((e) => e[0] === "m").map(withoutOffset)).toEqual([["m", "first"], ["m", "after hostile"], ["m", "missed"]]);
    expect(got.some((e) => e[0] === "x")).toBe(false);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect(a.output()).toMatch(/ignoring malformed stream entry/);
    expect(await a.call("serverCount")).toBe(2);
  });

  it("delivers what a process without a server appends to the stream in the official format (emitter), recoverably", async () => {
    const key = uniqueKey();
    const [a, b] = await startNodes([{ key, name: "A" }, { key, name: "B", client: "ioredis" }]);
    const stream = clusterOpts(key).streamName as string;
    const redis = await rawRedis();
    const emit = (rooms: string[], data: unknown[], nsp = "/") =>
      redis.sendCommand(["XADD", stream, "MAXLEN", "~", "10000", "*", "uid", "emitter", "nsp", nsp, "type", "3",
        "data", JSON.stringify({ packet: { type: 2, data, nsp }, opts: { rooms, except: [], flags: {} } })]);
    let target = a.port;
    const lb = await balancer(() => target);
    const one = makeClient(lb.url, { user: "one", rooms: ["news"] });
    const two = makeClient(b.url, { user: "two", rooms: [] });
    const adm = makeClient(b.url, { nsp: "/admin", user: "adm" });
    const got1 = recordEvents(one, ["e"]);
    const got2 = recordEvents(two, ["e"]);
    const got3 = recordEvents(adm, ["e"]);
    await Promise.all([waitFor(one, "connect"), waitFor(two, "connect"), waitFor(adm, "connect")]);
    await emit(["news"], ["e", "to news"]);
    await emit([], ["e", "to all"]);
    await emit([], ["e", "to admin"], "/admin");
    await until(() => got1.length === 2 && got2.length === 1 && got3.length === 1, 3000, "emitter broadcasts");
    expect(got1.map(withoutOffset)).toEqual([["e", "to news"], ["e", "to all"]]);
    expect(got2.map(withoutOffset)).toEqual([["e", "to all"]]);
    expect(got3.map(withoutOffset)).toEqual([["e", "to admin"]]);
    // Missed while away, recovered on the other node.
    target = 0;
    const disconnected = waitFor(one, "disconnect", 5000);
    lb.drop();
    await disconnected;
    await emit(["news"], ["e", "missed"]);
    target = b.port;
    await waitFor(one, "connect", 8000);
    expect(one.recovered).toBe(true);
    await until(() => got1.length === 3, 3000, "the missed emitter packet");
    expect(withoutOffset(got1[2])).toEqual(["e", "missed"]);
    // A room join from the emitter (type 4) reaches a socket on either node.
    await redis.sendCommand(["XADD", stream, "*", "uid", "emitter", "nsp", "/", "type", "4", "data", JSON.stringify({ opts: { rooms: [], except: [] }, rooms: ["joined"] })]);
    await until(async () => (await a.call("fetchSockets", { rooms: ["joined"] })).length === 2, 3000, "emitter socketsJoin");
  });
});
