/**
 * Mixed node:cluster workers: socket.io 4.8 with @socket.io/cluster-adapter
 * next to tidewire with tidewire/cluster, under tidewire's primary and under
 * @socket.io/cluster-adapter's: they share broadcasts (binary included, with
 * advanced serialization), rooms, fetchSockets and serverSideEmit requests.
 * Clients use WebSocket only (socket.io workers do not forward sessions).
 * With tracing on the tidewire workers, the trace context rides with the
 * IPC messages: the official workers act on them as before, and the other
 * tidewire worker continues the sender's trace.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, waitFor } from "../helpers/io.js";
import { connectClients, startCluster } from "./helpers.js";

afterEach(closeAll);

describe.each([
  ["tidewire", false],
  ["socket.io", false],
  ["tidewire", true],
] as const)("mixed workers under %s's setupPrimary() (tracing: %s)", (primary, tracing) => {
  it("share broadcasts, rooms, fetchSockets and serverSideEmit both ways", async () => {
    // Workers 0, 2: tidewire; 1, 3: socket.io.
    const cluster = await startCluster(["tidewire", "socket.io", "tidewire", "socket.io"], { primary, tracing });
    const clients = await connectClients(cluster.url, 8, { transports: ["websocket"], auth: { rooms: ["all"] } });
    const owners = await Promise.all(clients.map((t) => t.socket.emitWithAck("whoami")));
    expect(new Set(owners.map((o: any) => o.impl))).toEqual(new Set(["tidewire", "socket.io"]));

    // Broadcasts from either implementation reach every client once, binary intact.
    for (const from of [0, 1]) {
      const got = clients.map((t) => waitFor<[string, Buffer]>(t.socket, "news", 5000));
      await cluster.worker(from, "emit", { rooms: ["all"], event: "news", args: [`from w${from}`, Buffer.from([from, 9])] });
      for (const [text, bytes] of await Promise.all(got)) {
        expect(text).toBe(`from w${from}`);
        expect([...Buffer.from(bytes)]).toEqual([from, 9]);
      }
    }

    // socketsJoin from a socket.io worker moves tidewire sockets too, and the reverse.
    const tidewireIds = (await cluster.worker(0, "fetchSockets", {})).filter((s: any) => s.data.impl === "tidewire").map((s: any) => s.id);
    await cluster.worker(1, "socketsJoin", { room: "joined" });
    await cluster.worker(2, "socketsJoin", { rooms: ["joined"], room: "both" });
    for (const w of [0, 1, 2, 3]) {
      const inBoth = await cluster.worker(w, "fetchSockets", { rooms: ["both"] });
      expect(inBoth).toHaveLength(8);
      expect(inBoth.filter((s: any) => tidewireIds.includes(s.id)).every((s: any) => s.rooms.includes("joined"))).toBe(true);
    }

    // serverSideEmit with acknowledgements, both ways.
    expect(await cluster.worker(0, "serverSideEmitWithAck", { event: "sse", args: ["a"] })).toEqual(["w1:a", "w2:a", "w3:a"]);
    expect(await cluster.worker(3, "serverSideEmitWithAck", { event: "sse", args: ["b"] })).toEqual(["w0:b", "w1:b", "w2:b"]);
    expect(await cluster.worker(1, "serverCount")).toBe(4);
    expect(await cluster.worker(2, "serverCount")).toBe(4);
    expect(clients.flatMap((t) => t.disconnects)).toEqual([]);
    if (!tracing) return;
    // Worker 0's broadcast and request spans continue on worker 2.
    const uid = await cluster.worker(0, "uid");
    const [sent, received] = [await cluster.worker(0, "spans"), await cluster.worker(2, "spans")];
    for (const [name, remoteName] of [["send news", "process news"], ["serverSideEmit", "process sse"]]) {
      const origin = sent.find((sp: any) => sp.name === name);
      expect(origin, name).toBeDefined();
      const remote = received.find((sp: any) => sp.name === remoteName && sp.origin === uid && sp.traceId === origin.traceId);
      expect(remote, remoteName).toMatchObject({ parentSpanId: origin.spanId });
    }
  });
});
