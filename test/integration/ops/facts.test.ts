/**
 * The facts hook (src/observe/facts.ts) that diagnostics_channel and
 * OpenTelemetry observers subscribe to: every kind is published at its site
 * with what a span needs, scopes end exactly once (an event's when its ack
 * is sent), `run` wraps the work, a throwing sink does not break traffic,
 * and with no sink the mask is 0. Official clients; two nodes over real
 * Redis for adapter requests.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../../../src/index.js";
import { createAdapter } from "../../../src/redis/index.js";
import { facts, FACT_EVENT, type FactSink } from "../../../src/observe/index.js";
import { closeAll, connectPair, onClose, waitFor, withTimeout } from "../../helpers/io.js";
import { redisPair, startTidewire } from "../../helpers/tidewire-server.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

afterEach(closeAll);

const server = (opts: Record<string, unknown> = {}) => startTidewire(opts);

function record(kinds: Array<keyof FactSink>) {
  const log: Array<[string, any, string]> = [];
  const sink: FactSink = {};
  for (const kind of kinds) {
    (sink as any)[kind] = (fact: any) => {
      const entry: [string, any, string] = [kind, fact, "open"];
      log.push(entry);
      if (kind === "connection" || kind === "disconnect") return;
      return {
        end: (err?: unknown) => {
          if (entry[2] !== "open") throw new Error(`${kind} scope ended twice`);
          entry[2] = err === undefined ? "ended" : `failed: ${String((err as Error)?.message ?? err)}`;
        },
        run: <T>(fn: () => T): T => {
          (entry as any).ran = true;
          return fn();
        },
      };
    };
  }
  onClose(facts.subscribe(sink));
  return log;
}

describe("facts", () => {
  it("the mask is 0 with no sink, and follows subscriptions", () => {
    expect(facts.mask).toBe(0);
    const off = facts.subscribe({ event: () => undefined });
    expect(facts.mask).toBe(FACT_EVENT);
    off();
    expect(facts.mask).toBe(0);
  });

  it("publishes handshake, connection, event (ended when the ack is sent), broadcast, disconnect", async () => {
    const h = await server();
    const log = record(["handshake", "connection", "event", "broadcast", "disconnect"]);
    let release!: () => void;
    h.io.on("connection", (s: any) => {
      s.on("slow", (v: number, cb: (v: number) => void) => (release = () => cb(v + 1)));
      s.on("plain", () => undefined);
    });
    const { client } = await connectPair(h, "websocket");
    const handshake = log.find(([k]) => k === "handshake")!;
    expect(handshake[1].transport).toBe("websocket");
    expect(handshake[2]).toBe("ended");
    const connection = log.find(([k]) => k === "connection")!;
    expect(connection[1]).toMatchObject({ namespace: "/", transport: "websocket", recovered: false });

    client.emit("plain", 1, 2);
    const answer = client.emitWithAck("slow", 41);
    await withTimeout((async () => { while (!release) await new Promise((r) => setTimeout(r, 5)); })(), 2000, "slow event");
    const events = log.filter(([k]) => k === "event");
    expect(events.map(([, f]) => [f.event, f.args, f.ack])).toEqual([["plain", [1, 2], false], ["slow", [41], true]]);
    expect(events[0][2]).toBe("ended");
    expect(events[1][2]).toBe("open");
    expect((events[1] as any).ran).toBe(true);
    release();
    expect(await answer).toBe(42);
    expect(events[1][2]).toBe("ended");

    h.io.to("room").except("other").emit("news", 1);
    const broadcast = log.find(([k]) => k === "broadcast")!;
    expect(broadcast[1]).toMatchObject({ namespace: "/", event: "news", ack: false });
    expect([...broadcast[1].rooms]).toEqual(["room"]);
    expect([...broadcast[1].except]).toEqual(["other"]);
    expect(broadcast[2]).toBe("ended");
    expect((broadcast as any).ran).toBe(true);

    client.disconnect();
    await withTimeout((async () => { while (!log.some(([k]) => k === "disconnect")) await new Promise((r) => setTimeout(r, 5)); })(), 2000, "disconnect fact");
    const disconnect = log.find(([k]) => k === "disconnect")!;
    expect(disconnect[1]).toMatchObject({ namespace: "/", reason: "client namespace disconnect", cause: { code: "client_namespace_disconnect" } });
  });

  it("a handshake refused while draining ends its scope with the refusal", async () => {
    const h = await server();
    const log = record(["handshake"]);
    void h.io.drain({ durationMs: 100 });
    const res = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(503);
    await res.text();
    expect(log).toHaveLength(1);
    expect(log[0][1].transport).toBe("polling");
    expect(log[0][2]).toMatch(/^failed: Server draining/);
  });

  it("a sink that throws is reported and traffic goes on", async () => {
    const h = await server();
    onClose(facts.subscribe({ connection: () => { throw new Error("observer bug"); } }));
    const reported = new Promise<Error>((resolve) => {
      const listeners = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      process.once("uncaughtException", (err) => {
        for (const l of listeners) process.on("uncaughtException", l);
        resolve(err);
      });
    });
    const { client } = await connectPair(h, "websocket");
    expect(client.connected).toBe(true);
    expect((await withTimeout(reported, 2000, "report")).message).toBe("observer bug");
  });

  it("adapter requests to other nodes (tidewire/redis, real Redis): a scope per request, ended when answered", async () => {
    const nodes = [];
    const key = `tw-facts-${process.pid}-${Date.now()}`;
    for (let i = 0; i < 2; i++) {
      const { pub, sub } = await redisPair(REDIS_URL);
      const node = await server({ adapter: createAdapter(pub, sub, { key }) });
      await node.io.of("/").adapter.init();
      nodes.push(node);
    }
    const log = record(["adapterRequest"]);
    await connectPair(nodes[1], "websocket");
    const sockets = await nodes[0].io.fetchSockets();
    expect(sockets).toHaveLength(1);
    expect(log).toHaveLength(1);
    expect(log[0][1]).toMatchObject({ namespace: "/", request: "fetchSockets", timeoutMs: 5000 });
    expect(typeof log[0][1].requestId).toBe("string");
    expect(log[0][2]).toBe("ended");
    expect((log[0] as any).ran).toBe(true);
  });
});

void waitFor;
