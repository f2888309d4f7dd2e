/**
 * The cluster core without Redis: requests waiting by node, and heartbeat
 * membership over an in-process bus (the shape a node:cluster transport has:
 * no subscriber count, messages in socket.io-adapter's cluster format).
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { BusAdapter, MessageType, RequestTable, type BusHost, type BusTransport, type ClusterMessage } from "../../src/adapter/bus/index.js";

describe("RequestTable waiting by node", () => {
  it("settles when every awaited node answered or left, ignoring strangers and repeats (model)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom("a", "b", "c", "d"), { minLength: 1 }),
        fc.array(fc.record({ kind: fc.constantFrom("answer", "gone"), uid: fc.constantFrom("a", "b", "c", "d", "x") }), { maxLength: 20 }),
        (nodes, events) => {
          const table = new RequestTable(10);
          let done: unknown[] | null = null;
          table.open("r", { what: "fetchSockets", expected: nodes, timeout: 60_000, onDone: (a) => (done = a), onFail: () => {} });
          const missing = new Set(nodes);
          const answers: string[] = [];
          for (const e of events) {
            if (missing.size === 0) break;
            if (e.kind === "answer") {
              table.answer("r", e.uid, e.uid);
              if (missing.delete(e.uid)) answers.push(e.uid);
            } else {
              table.nodeGone(e.uid);
              missing.delete(e.uid);
            }
          }
          if (missing.size === 0) expect(done).toEqual(answers);
          else {
            expect(done).toBeNull();
            table.cancelAll(new Error("end"));
          }
        },
      ),
    );
  });
});

/** An in-process bus: every transport sees every other's messages (structured clones), as IPC would deliver them. */
function makeBus() {
  const hosts = new Set<BusHost>();
  const deliver = (fn: (h: BusHost) => void, except: BusHost) =>
    setImmediate(() => {
      for (const h of hosts) if (h !== except) fn(h);
    });
  return (host: BusHost): BusTransport => ({
    init: async () => void hosts.add(host),
    publish: (m: ClusterMessage) => (deliver((h) => h.receive(structuredClone(m)), host), Promise.resolve("")),
    publishResponse: (_uid: string, r: ClusterMessage) => (deliver((h) => h.receiveResponse(structuredClone(r)), host), Promise.resolve()),
    close: async () => void hosts.delete(host),
  });
}

function fakeNsp(onSse: (args: any[]) => void) {
  return { name: "/", sockets: new Map(), server: { encoder: { encode: (p: any) => [JSON.stringify(p)] }, _opts: {} }, _ids: 0, _onServerSideEmit: onSse };
}

const opened: BusAdapter[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

describe("BusAdapter with heartbeat membership", () => {
  it("counts nodes by heartbeat, collects serverSideEmit answers from each, and forgets closed nodes", async () => {
    const bus = makeBus();
    const make = (name: string) => {
      const a = new BusAdapter(fakeNsp((args) => typeof args.at(-1) === "function" && args.at(-1)(name)) as any, bus, { heartbeatInterval: 50, heartbeatTimeout: 200 });
      opened.push(a);
      return a;
    };
    const [a, b, c] = [make("a"), make("b"), make("c")];
    for (const x of [a, b, c]) await x.init();
    await new Promise((r) => setTimeout(r, 30));
    expect(await a.serverCount()).toBe(3);
    const answers = await new Promise<unknown[]>((resolve, reject) =>
      a.serverSideEmit(["hi", (err: Error | null, res: unknown[]) => (err ? reject(err) : resolve(res))]),
    );
    expect(answers.sort()).toEqual(["b", "c"]);
    await c.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(await a.serverCount()).toBe(2);
    expect(MessageType.ADAPTER_CLOSE).toBe(13);
  });
});
