import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  connectClient,
  MODES,
  pollGet,
  pollingHandshake,
  pollPost,
  rawWebSocket,
  startEngine,
  waitFor,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

describe("engine heartbeat (v4: the server pings)", () => {
  it("polling: a ping arrives in a GET after pingInterval; the pong re-arms the next one", async () => {
    const h = await startEngine({ pingInterval: 80, pingTimeout: 1000 });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    // Lower bounds are measured from before the request that arms the timer,
    // so a slow machine can only make the measured interval longer.
    let started = Date.now();
    const { sid } = await pollingHandshake(h);
    const [conn] = await connection;
    expect((await pollGet(h, sid)).text).toBe("2");
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    const heartbeat = waitFor(conn, "heartbeat");
    started = Date.now();
    expect((await pollPost(h, sid, "3")).text).toBe("ok");
    await heartbeat;
    expect((await pollGet(h, sid)).text).toBe("2");
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it("no pong within pingTimeout closes the session ('ping timeout')", async () => {
    const h = await startEngine({ pingInterval: 50, pingTimeout: 50 });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = await rawWebSocket(h);
    const [conn] = await connection;
    await ws.next();
    const closed = waitFor(conn, "close");
    expect(await ws.next()).toBe("2");
    const pinged = Date.now();
    expect((await closed)[0]).toBe("ping timeout");
    expect(Date.now() - pinged).toBeGreaterThanOrEqual(25);
    await ws.closed;
  });

  it("a ping from a v4 client is a protocol error ('transport error', invalid heartbeat direction)", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const { sid } = await pollingHandshake(h);
    const [conn] = await connection;
    const closed = waitFor(conn, "close");
    await pollPost(h, sid, "2");
    const [reason, description] = await closed;
    expect(reason).toBe("transport error");
    expect(description.message).toBe("invalid heartbeat direction");
  });

  it("a ping is never later than pingInterval, whatever tidewire's timer batching does (a short pingTimeout stays safe)", { timeout: 15000 }, async () => {
    // The client allows a ping to be pingTimeout late. tidewire fires timers
    // due within 1/128 of their delay (at most 40 ms) together; a lone
    // session's ping armed at pingInterval would leave a whole window late
    // (5120 + 40 ms here), past a 30 ms pingTimeout. Measured from the open
    // packet's arrival, which is after the ping was armed.
    const h = await startEngine({ pingInterval: 5120, pingTimeout: 30 });
    const ws = await rawWebSocket(h);
    expect((await ws.next()).startsWith("0")).toBe(true);
    const opened = performance.now();
    expect(await ws.next(8000)).toBe("2");
    const late = performance.now() - opened - 5120;
    expect(late).toBeLessThan(35);
    ws.send("3");
  });

  it("an unsolicited pong is harmless", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = await rawWebSocket(h);
    const [conn] = await connection;
    ws.send("3");
    ws.send("4still here");
    expect((await waitFor(conn, "message"))[0]).toBe("still here");
    expect(conn.readyState).toBe("open");
  });

  it("traffic while a pong is due extends the deadline once (engine.io 6.6.12)", async () => {
    const h = await startEngine({ pingInterval: 30, pingTimeout: 400 });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const ws = await rawWebSocket(h);
    const [conn] = await connection;
    await ws.next();
    const closed = waitFor(conn, "close", 3000);
    expect(await ws.next()).toBe("2");
    const pinged = Date.now();
    // the deadline is pinged + 400 ms; traffic at +200 ms moves it to about +600 ms
    await new Promise((r) => setTimeout(r, 200));
    ws.send("4busy");
    const [reason] = await closed;
    expect(reason).toBe("ping timeout");
    expect(Date.now() - pinged).toBeGreaterThanOrEqual(450);
  });

  it.each(MODES)("the official client stays connected over many ping cycles (%s)", async (mode) => {
    const h = await startEngine({ pingInterval: 40, pingTimeout: 60 });
    const { client, conn } = await connectClient(h, mode);
    let closedWith: string | null = null;
    conn.on("close", (reason: string) => (closedWith = reason));
    for (let i = 0; i < 5; i++) await waitFor(conn, "heartbeat", 1000);
    expect(closedWith).toBe(null);
    expect(client.readyState).toBe("open");
  });
});
