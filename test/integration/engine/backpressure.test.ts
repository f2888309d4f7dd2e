/**
 * tidewire's bounded write path: volatile drops, the outbound byte limit
 * ("buffer overflow"), bufferedAmount and resuming after the client reads
 * again. engine.io has none of these, so the file runs against tidewire only.
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
  type EngineHandle,
  type EngineSocket,
} from "../../helpers/engine.js";

afterEach(closeAll);

async function wsSession(h: EngineHandle) {
  const connection = waitFor<[EngineSocket]>(h.engine, "connection");
  const ws = await rawWebSocket(h);
  const [conn] = await connection;
  await ws.next();
  return { ws, conn };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const CHUNK = "c".repeat(64 * 1024);

/** Sends 64 KiB messages, one per turn, until the transport reports backpressure (or the session ends). */
async function fillUntilBackedUp(conn: EngineSocket, limitBytes = 256 * 1024 * 1024): Promise<number> {
  let sent = 0;
  while (conn.transport.writable && conn.readyState === "open" && sent < limitBytes) {
    conn.send(CHUNK);
    sent++;
    await turn();
  }
  return sent;
}

describe.skipIf(tidewireOnly)("engine write path limits", () => {
  it("volatile messages are dropped while polling has no pending GET, sent while it has", async () => {
    const h = await startEngine();
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    const { sid } = await pollingHandshake(h);
    const [conn] = await connection;
    conn.send("dropped", { volatile: true });
    expect(conn.bufferedAmount).toBe(0);
    conn.send("kept");
    expect(conn.bufferedAmount).toBeGreaterThan(0);
    expect((await pollGet(h, sid)).text).toBe("4kept");
    expect(conn.bufferedAmount).toBe(0);
    const seen = waitFor(h.httpServer, "request");
    const get = pollGet(h, sid);
    await seen;
    conn.send("volatile but writable", { volatile: true });
    expect((await get).text).toBe("4volatile but writable");
  });

  it("a client that stops reading: backpressure, volatile drops, then everything resumes in order", async () => {
    const h = await startEngine({ maxBufferedBytes: 64 * 1024 * 1024 });
    const { ws, conn } = await wsSession(h);
    const socket = (ws.ws as any)._socket;
    socket.pause();
    const sent = await fillUntilBackedUp(conn);
    expect(conn.transport.writable).toBe(false);
    expect(conn.bufferedAmount).toBeGreaterThan(0);
    conn.send("volatile", { volatile: true });
    conn.send("last");
    const drained = waitFor(conn, "drain", 10000);
    socket.resume();
    for (let i = 0; i < sent; i++) expect(((await ws.next(10000)) as string).length).toBe(CHUNK.length + 1);
    expect(await ws.next(10000)).toBe("4last");
    await drained;
    expect(conn.readyState).toBe("open");
  });

  it("'drain' fires when a backed-up socket empties, even with nothing queued", async () => {
    const h = await startEngine({ maxBufferedBytes: 64 * 1024 * 1024 });
    const { ws, conn } = await wsSession(h);
    const socket = (ws.ws as any)._socket;
    socket.pause();
    await fillUntilBackedUp(conn);
    const pending = conn.bufferedAmount;
    expect(pending).toBeGreaterThan(0);
    const drained = waitFor(conn, "drain", 10000);
    socket.resume();
    await drained;
    expect(conn.bufferedAmount).toBeLessThan(pending);
    expect(conn.transport.writable).toBe(true);
  });

  it("over maxBufferedBytes the session closes with 'buffer overflow'", async () => {
    const h = await startEngine({ maxBufferedBytes: 512 * 1024 });
    const { ws, conn } = await wsSession(h);
    (ws.ws as any)._socket.pause();
    const closed = waitFor(conn, "close", 10000);
    await fillUntilBackedUp(conn);
    // One write of 20 chunks is admitted whole (the large write); the writes after it are
    // judged by what they left undrained: the limit is reached after about 8 of them.
    for (let i = 0; i < 20; i++) conn.send(CHUNK);
    let after = 0;
    for (; after < 20 && conn.readyState === "open"; after++) {
      await turn();
      conn.send(CHUNK);
    }
    expect(after).toBeLessThanOrEqual(512 / 64 + 2);
    const [reason, description] = await closed;
    expect(reason).toBe("buffer overflow");
    expect(description.message).toMatch(/more than maxBufferedBytes \(524288\)/);
    expect(h.engine.clientsCount).toBe(0);
  });

  it("a burst in one turn is one write; a later one overflows if the client has not drained", async () => {
    const h = await startEngine({ maxBufferedBytes: 100 * 1024 });
    const connection = waitFor<[EngineSocket]>(h.engine, "connection");
    await pollingHandshake(h);
    const [conn] = await connection;
    const closed = waitFor(conn, "close");
    // 192 KiB in one turn, with nothing undrained before: admitted whole, the large write.
    for (let i = 0; i < 3; i++) conn.send(CHUNK);
    await turn();
    // 64 KiB, then 128 KiB in the next writes: together over the limit, so that write
    // becomes the large one and the first counts again; the write after it overflows.
    const sent: number[] = [];
    for (let i = 0; i < 4 && conn.readyState === "open"; i++) {
      conn.send(CHUNK);
      if (conn.readyState === "open") sent.push(i);
      await turn();
    }
    expect((await closed)[0]).toBe("buffer overflow");
    expect(sent).toEqual([0, 1]);
  });
});
