/**
 * node:diagnostics_channel channels (src/observe/diagnostics.ts), subscribed
 * with the real diagnostics_channel API as an APM would: connection, event,
 * broadcast, disconnect with its cause, adapter request (two nodes over real
 * Redis); official socket.io-client clients. With no subscriber the facts
 * mask stays 0 (nothing is built on the traffic's path); it follows
 * subscriptions made either way (`diagnostics_channel.subscribe(name)` and
 * `channel(name).subscribe`), and a subscriber made before tidewire is
 * loaded is seen at load (a child process over the built package).
 */
import dc from "node:diagnostics_channel";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { Server } from "../../../src/index.js";
import { createAdapter } from "../../../src/redis/index.js";
import { facts, FACT_BROADCAST, FACT_CONNECTION, FACT_DISCONNECT, FACT_EVENT } from "../../../src/observe/index.js";
import { closeAll, connectPair, listen, onClose, withTimeout } from "../../helpers/io.js";
import { redisPair, startTidewire } from "../../helpers/tidewire-server.js";

const require = createRequire(import.meta.url);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const repoRoot = new URL("../../../", import.meta.url);

afterEach(closeAll);

const server = (opts: Record<string, unknown> = {}) => startTidewire(opts);

/** Subscribes to channel `name` with diagnostics_channel.subscribe; collects the messages. */
function listen_(name: string): any[] {
  const got: any[] = [];
  const fn = (message: unknown, channel: string | symbol) => {
    expect(channel).toBe(name);
    got.push(message);
  };
  dc.subscribe(name, fn);
  onClose(() => void dc.unsubscribe(name, fn));
  return got;
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("diagnostics_channel", () => {
  it("the facts mask is 0 with no subscriber and follows subscriptions made either way", () => {
    expect(facts.mask).toBe(0);
    const a = () => undefined;
    const b = () => undefined;
    dc.subscribe("tidewire:event", a);
    expect(facts.mask).toBe(FACT_EVENT);
    dc.channel("tidewire:broadcast").subscribe(b);
    expect(facts.mask).toBe(FACT_EVENT | FACT_BROADCAST);
    expect(dc.hasSubscribers("tidewire:event")).toBe(true);
    dc.unsubscribe("tidewire:event", a);
    expect(facts.mask).toBe(FACT_BROADCAST);
    // Unsubscribing what was never subscribed changes nothing.
    expect(dc.channel("tidewire:broadcast").unsubscribe(a)).toBe(false);
    expect(facts.mask).toBe(FACT_BROADCAST);
    dc.channel("tidewire:broadcast").unsubscribe(b);
    expect(facts.mask).toBe(0);
    expect(dc.hasSubscribers("tidewire:broadcast")).toBe(false);
  });

  it("publishes connection, event, broadcast and disconnect (with its cause) for official clients", async () => {
    const h = await server();
    const connections = listen_("tidewire:connection");
    const events = listen_("tidewire:event");
    const broadcasts = listen_("tidewire:broadcast");
    const disconnects = listen_("tidewire:disconnect");
    expect(facts.mask & (FACT_CONNECTION | FACT_EVENT | FACT_BROADCAST | FACT_DISCONNECT)).toBe(FACT_CONNECTION | FACT_EVENT | FACT_BROADCAST | FACT_DISCONNECT);
    h.io.on("connection", (s: any) => {
      s.join("room");
      s.on("hello", (n: number, cb: (v: number) => void) => cb(n * 2));
      s.on("plain", () => undefined);
    });
    const { client, socket } = await connectPair(h, "websocket");
    expect(connections).toHaveLength(1);
    expect(connections[0]).toMatchObject({ namespace: "/", transport: "websocket", recovered: false });
    expect(connections[0].socket).toBe(socket);

    expect(await client.emitWithAck("hello", 21)).toBe(42);
    client.emit("plain", "a", { b: 1 });
    await until(() => events.length === 2, "two events");
    expect(events.map((e) => [e.namespace, e.event, e.args, e.ack])).toEqual([
      ["/", "hello", [21], true],
      ["/", "plain", ["a", { b: 1 }], false],
    ]);
    expect(events[0].socket).toBe(socket);

    const news = new Promise((resolve) => client.once("news", resolve));
    h.io.to("room").except("nobody").emit("news", 1);
    expect(await withTimeout(news, 2000, "news")).toBe(1);
    expect(broadcasts).toHaveLength(1);
    expect(broadcasts[0]).toMatchObject({ namespace: "/", event: "news", ack: false });
    expect([...broadcasts[0].rooms]).toEqual(["room"]);
    expect([...broadcasts[0].except]).toEqual(["nobody"]);

    // The transport closes under the client: socket.io says "transport close", the cause says how.
    client.io.engine.close();
    await until(() => disconnects.length === 1, "disconnect message");
    expect(disconnects[0]).toMatchObject({
      namespace: "/",
      reason: "transport close",
      cause: { code: "client_closed", transport: "websocket" },
    });
    expect(disconnects[0].socket).toBe(socket);
  });

  it("a server-side disconnect and a ping timeout carry their causes", async () => {
    const h = await server({ pingInterval: 100, pingTimeout: 150 });
    const disconnects = listen_("tidewire:disconnect");
    const first = await connectPair(h, "polling");
    first.socket.disconnect();
    await until(() => disconnects.length === 1, "server namespace disconnect");
    expect(disconnects[0]).toMatchObject({ reason: "server namespace disconnect", cause: { code: "namespace_disconnect", transport: "polling" } });

    const second = await connectPair(h, "websocket");
    // The client stops answering pings (its pongs are dropped).
    const engine = second.client.io.engine as any;
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type: string, ...rest: unknown[]) => (type === "pong" ? undefined : send(type, ...rest));
    await until(() => disconnects.length === 2, "ping timeout", 5000);
    expect(disconnects[1]).toMatchObject({ reason: "ping timeout", cause: { code: "ping_timeout", transport: "websocket" } });
    expect(typeof disconnects[1].cause.pongWaitMs).toBe("number");
  });

  it("tidewire:adapter:request for a request to the other nodes (tidewire/redis, real Redis)", async () => {
    const key = `tw-dc-${process.pid}-${Date.now()}`;
    const nodes = [];
    for (let i = 0; i < 2; i++) {
      const { pub, sub } = await redisPair(REDIS_URL);
      const node = await server({ adapter: createAdapter(pub, sub, { key }) });
      await node.io.of("/").adapter.init();
      nodes.push(node);
    }
    const requests = listen_("tidewire:adapter:request");
    await connectPair(nodes[1], "websocket");
    expect(await nodes[0].io.fetchSockets()).toHaveLength(1);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ namespace: "/", request: "fetchSockets", timeoutMs: 5000 });
    expect(typeof requests[0].requestId).toBe("string");
  });

  it("a subscriber made before tidewire is loaded is seen at load (built package, child process)", async () => {
    const script = `
      const dc = require("node:diagnostics_channel");
      const got = [];
      dc.subscribe("tidewire:connection", (m) => got.push(m.namespace + " " + m.transport));
      const { Server } = require("tidewire");
      const { io: client } = require("socket.io-client");
      const http = require("node:http").createServer();
      const io = new Server(http);
      http.listen(0, "127.0.0.1", () => {
        const c = client("http://127.0.0.1:" + http.address().port, { transports: ["websocket"] });
        c.on("connect", () => {
          console.log(JSON.stringify(got));
          c.disconnect();
          io.close();
        });
      });
      setTimeout(() => process.exit(3), 5000).unref();
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["-e", script], { cwd: repoRoot, timeout: 10_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out.trim())).toEqual(["/ websocket"]);
  });
});
