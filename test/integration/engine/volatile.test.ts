/**
 * Volatile packets at the engine level: `conn.send(data, { volatile: true })`
 * is dropped when the transport is busy (no pending GET, a frame not yet
 * written, or anything already queued for the client in this turn) and sent
 * when it is idle. This is socket.io's rule for volatile emits (its Client
 * drops them while `conn.transport.writable` is false, and engine.io turns
 * that false as soon as it writes); engine.io itself has no volatile option,
 * so the file runs against tidewire only. The Socket.IO-level behaviour,
 * checked against socket.io too, is in ../io/volatile.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  pollGet,
  pollingHandshake,
  rawWebSocket,
  startEngine,
  tidewireOnly,
  waitFor,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

describe.skipIf(tidewireOnly)("engine volatile packets", () => {
  it("polling with a pending GET: the first volatile packet of the turn leaves, the next ones are dropped", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const { sid } = await pollingHandshake(h);
    const [conn] = await connection;
    const seen = waitFor(h.httpServer, "request");
    const get = pollGet(h, sid);
    await seen;
    conn.send("a", { volatile: true });
    conn.send("b", { volatile: true });
    conn.send("c");
    conn.send("d", { volatile: true });
    // the messages that left, whichever GETs carried them
    let received = (await get).text;
    if (!received.includes("4c")) received += "\x1e" + (await pollGet(h, sid)).text;
    expect(received).toBe("4a\x1e4c");
  });

  it("websocket: a volatile packet behind one already queued in the turn is dropped", async () => {
    const h = await startEngine({ transports: ["websocket"] });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = await rawWebSocket(h);
    const [conn] = await connection;
    await ws.next(); // open packet
    conn.send("a", { volatile: true });
    conn.send("b", { volatile: true });
    conn.send("c");
    conn.send("d", { volatile: true });
    expect(await ws.next()).toBe("4a");
    expect(await ws.next()).toBe("4c");
    // idle again: a volatile packet leaves
    conn.send("e", { volatile: true });
    conn.send("f");
    expect(await ws.next()).toBe("4e");
    expect(await ws.next()).toBe("4f");
  });
});
