import { afterEach, describe, expect, it } from "vitest";
import {
  closeAll,
  collect,
  connectClient,
  eioClient,
  eioPath,
  pollGet,
  pollingHandshake,
  pollPost,
  RawWs,
  request,
  startEngine,
  waitFor,
  wsUrl,
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

async function pollingSession(h: EngineHandle): Promise<{ sid: string; conn: EngineSocket }> {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const { sid } = await pollingHandshake(h);
  const [conn] = await connection;
  return { sid, conn };
}

async function openUpgradeSocket(h: EngineHandle, sid: string): Promise<RawWs> {
  const ws = new RawWs(wsUrl(h, { sid }));
  await ws.opened;
  return ws;
}

describe("engine upgrade polling → websocket", () => {
  it("2probe/3probe, the pending GET released with a noop, 5 switches the session", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const seen = waitFor(h.httpServer, "request");
    const get = pollGet(h, sid);
    await seen;
    const ws = await openUpgradeSocket(h, sid);
    const upgrading = waitFor(conn, "upgrading");
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    const [transport] = await upgrading;
    expect(transport.name).toBe("websocket");
    expect(conn.upgrading).toBe(true);
    expect((await get).text).toBe("6");
    const upgraded = waitFor(conn, "upgrade");
    ws.send("5");
    await upgraded;
    expect(conn.upgraded).toBe(true);
    expect(conn.upgrading).toBe(false);
    expect(conn.transport.name).toBe("websocket");
    conn.send("over ws");
    expect(await ws.next()).toBe("4over ws");
    ws.send("4from client");
    expect((await waitFor(conn, "message"))[0]).toBe("from client");
  });

  it("after the switch, polling requests get code 3 and further upgrades a 101 then a close", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    await ws.next();
    const upgraded = waitFor(conn, "upgrade");
    ws.send("5");
    await upgraded;
    const errors: any[] = [];
    h.engine.on("connection_error", (e: any) => errors.push(e.context));
    const get = await pollGet(h, sid);
    expect(get.status).toBe(400);
    expect(JSON.parse(get.text)).toEqual({ code: 3, message: "Bad request" });
    expect(errors).toEqual([{ name: "TRANSPORT_MISMATCH", transport: "polling", previousTransport: "websocket" }]);
    const again = await openUpgradeSocket(h, sid);
    expect(await again.closed).toBe(1005);
    expect(conn.readyState).toBe("open");
  });

  it("a second upgrade while one is under way gets a 101 then a close", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const first = await openUpgradeSocket(h, sid);
    const second = await openUpgradeSocket(h, sid);
    expect(await second.closed).toBe(1005);
    first.send("2probe");
    expect(await first.next()).toBe("3probe");
    const upgraded = waitFor(conn, "upgrade");
    first.send("5");
    await upgraded;
  });

  it("packets queued while the upgrade is under way are flushed over the WebSocket, in order", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    for (let i = 0; i < 10; i++) conn.send("q" + i);
    const upgraded = waitFor(conn, "upgrade");
    ws.send("5");
    await upgraded;
    for (let i = 0; i < 10; i++) expect(await ws.next()).toBe("4q" + i);
  });

  it("a GET arriving after the probe is answered with what is queued, or a noop", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    expect((await pollGet(h, sid)).text).toBe("6");
    conn.send("pending");
    expect((await pollGet(h, sid)).text).toBe("4pending");
  });

  it("another packet before 5 closes the new socket; the session goes on polling", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    await ws.next();
    ws.send("4nope");
    await ws.closed;
    expect(conn.upgrading).toBe(false);
    expect(conn.transport.name).toBe("polling");
    conn.send("still polling");
    expect((await pollGet(h, sid)).text).toBe("4still polling");
    expect((await pollPost(h, sid, "4fine")).text).toBe("ok");
  });

  it("no 5 within upgradeTimeout: the new socket is closed, the session stays on polling", async () => {
    const h = await startEngine({ upgradeTimeout: 100 });
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    await ws.next();
    await ws.closed;
    expect(conn.readyState).toBe("open");
    expect(conn.upgrading).toBe(false);
    // and a new attempt is possible
    const retry = await openUpgradeSocket(h, sid);
    retry.send("2probe");
    expect(await retry.next()).toBe("3probe");
    const upgraded = waitFor(conn, "upgrade");
    retry.send("5");
    await upgraded;
  });

  it("the new socket closing during the upgrade leaves the session on polling", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    await ws.next();
    ws.ws.close();
    await ws.closed;
    const got = waitFor(conn, "message");
    expect((await pollPost(h, sid, "4x")).text).toBe("ok");
    expect((await got)[0]).toBe("x");
    conn.send("y");
    expect((await pollGet(h, sid)).text).toBe("4y");
    expect(conn.transport.name).toBe("polling");
  });

  it("the session closing before the probe closes the new socket too", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    conn.close();
    await ws.closed;
    expect((await request(h, { path: eioPath(h, { sid }) })).text).toBe("6\x1e1");
  });

  it("the session closing after the probe: the new socket closes once the client switched to it", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    ws.send("2probe");
    await ws.next();
    const closed = waitFor(conn, "close");
    conn.close();
    // the client paused polling: only the new socket can tell it the session is over
    ws.send("5");
    await ws.closed;
    expect((await closed)[0]).toBe("forced close");
  });

  it("no message is lost or reordered across an upgrade with the official client", async () => {
    const h = await startEngine();
    const n = 2000;
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const client = eioClient(h, "upgrade");
    const received = collect<string>(client, "message", n, 10000);
    const [conn] = await connection;
    const sentDuring: string[] = [];
    // keep sending while the upgrade happens: some go over polling, some wait, the rest go over ws
    let i = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        for (let k = 0; k < 50 && i < n; k++, i++) {
          conn.send(String(i));
          sentDuring.push(conn.upgraded ? "ws" : conn.upgrading ? "upgrading" : "polling");
        }
        if (i < n) setTimeout(pump, 1);
        else resolve();
      };
      pump();
    });
    expect(await received).toEqual(Array.from({ length: n }, (_, k) => String(k)));
    expect(conn.upgraded).toBe(true);
    expect(sentDuring).toContain("polling");
    const fromClient = collect<string>(conn, "message", 300, 10000);
    for (let k = 0; k < 300; k++) client.send("c" + k);
    expect(await fromClient).toEqual(Array.from({ length: 300 }, (_, k) => "c" + k));
  });

  it("the official client upgrades quickly thanks to the noop", async () => {
    const h = await startEngine({ pingInterval: 20000 });
    const started = Date.now();
    const { conn } = await connectClient(h, "upgrade");
    expect(conn.upgraded).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("engine close while an upgrade is under way", () => {
  it("queued packets still reach the client, then the session closes", async () => {
    const h = await startEngine();
    const { sid, conn } = await pollingSession(h);
    const ws = await openUpgradeSocket(h, sid);
    const upgrading = waitFor(conn, "upgrading");
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    await upgrading;
    // The client paused polling (no GET pending): the queue can only leave on the new socket.
    conn.send("last words");
    const closed = waitFor(conn, "close");
    conn.close();
    ws.send("5");
    expect(await ws.next()).toBe("4last words");
    const [reason] = await closed;
    expect(reason).toBe("forced close");
  });
});

describe("session closed while the official client pauses polling for its upgrade", () => {
  // The client pauses polling once it has the probe's answer and sends 5 once
  // its pending GET has returned. Here that GET's answer (the noop) reaches it
  // after the probe socket's close, an order the network may produce: the
  // client must still learn at once that the session is over (engine.io's
  // fixture server-close-upgrading.js). The heartbeat is far off, so only
  // the server's close can end the client.
  for (const how of ["conn.close()", "conn.close(true)", "engine.close()", "httpServer.close() and engine.close()"] as const) {
    it(`${how}: the client closes at once`, async () => {
      const h = await startEngine({ pingInterval: 20000, pingTimeout: 20000 });
      const connection = waitFor<[EngineSocket]>(h.engine, "connection");
      const client = eioClient(h, "upgrade");
      const [conn] = await connection;
      await waitFor(client, "open");
      const polling = (client as any).transport;
      const onData = polling.onData.bind(polling);
      polling.onData = (data: unknown) => setTimeout(() => onData(data), 50);
      const closed = waitFor(client, "close", 3000);
      const serverClosed = waitFor(conn, "close", 3000);
      client.once("upgrading", () => {
        if (how === "conn.close()") conn.close();
        else if (how === "conn.close(true)") conn.close(true);
        else if (how === "engine.close()") h.engine.close();
        else {
          h.httpServer.close();
          h.engine.close();
        }
      });
      const [reason] = await closed;
      expect(reason).toBe("transport close");
      expect((await serverClosed)[0]).toBe("forced close");
    });
  }
});
