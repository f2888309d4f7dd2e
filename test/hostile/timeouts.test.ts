/**
 * Class 13: clients that stop answering. One that never answers pings is
 * gone after pingInterval + pingTimeout ("ping timeout"), on both
 * transports; an ack that never returns leaves nothing pending after its
 * timeout; a broadcast with acks to clients that vanish calls back with the
 * responses that did arrive and leaves nothing pending either.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  LeakTracker,
  pollingHandshake,
  RawWebSocket,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

const HEARTBEAT = { pingInterval: 300, pingTimeout: 400 };

function nextSocket(handle: IoServerHandle, nsp = "/"): Promise<any> {
  return new Promise((resolve) => handle.io.of(nsp).once("connection", resolve));
}

describe("hostile: clients that stop answering", () => {
  it("a client that never answers pings is gone after pingInterval + pingTimeout, on both transports", async () => {
    const handle = await echoServer(HEARTBEAT);
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      // WebSocket: joined "/", reads everything, never sends a pong.
      const side = nextSocket(handle);
      const start = Date.now();
      const ws = await RawWebSocket.socketIo(handle.port);
      const socket = await side;
      socket.join("room");
      const reason = await withTimeout(new Promise<string>((resolve) => socket.once("disconnect", resolve)), 5000, "disconnect");
      const elapsed = Date.now() - start;
      expect(reason).toBe("ping timeout");
      expect(elapsed).toBeGreaterThanOrEqual(HEARTBEAT.pingInterval + HEARTBEAT.pingTimeout - 50);
      expect(handle.io.of("/").adapter.rooms.has("room")).toBe(false);
      expect(await ws.next()).toBe("2"); // it did get the ping
      await withTimeout(ws.closed, 5000, "the connection being closed");

      // Polling: a handshake and nothing more.
      const closed = new Promise<string>((resolve) => handle.io.engine.once("connection", (conn: any) => conn.once("close", resolve)));
      const pollStart = Date.now();
      await pollingHandshake(handle.port);
      expect(await withTimeout(closed, 5000, "the polling session closing")).toBe("ping timeout");
      expect(Date.now() - pollStart).toBeGreaterThanOrEqual(HEARTBEAT.pingInterval + HEARTBEAT.pingTimeout - 50);
    });
    expect(handle.io.engine.clientsCount).toBe(1);
    expect(handle.io.of("/").sockets.size).toBe(1);
  });

  it("an ack that never returns: the callback gets the timeout error and nothing stays pending", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const side = nextSocket(handle);
    const silent = await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    await canary.during(async () => {
      const results = await Promise.all(
        Array.from(
          { length: 1000 },
          () => new Promise<unknown>((resolve) => socket.timeout(150).emit("question", (err: Error | null) => resolve(err?.message))),
        ),
      );
      expect(new Set(results)).toEqual(new Set(["operation has timed out"]));
      await expect(socket.timeout(100).emitWithAck("question")).rejects.toThrow("operation has timed out");
    });
    expect(socket.acks.size).toBe(0);
    // An answer arriving after the timeout is ignored; the client is still served.
    silent.sendText('430["late"]');
    silent.sendText('421["echo","still here"]');
    let questions = 0;
    for (let m = await silent.nextMessage(); m !== '431["still here"]'; m = await silent.nextMessage()) {
      expect(m).toMatch(/^42\d+\["question"\]$/);
      questions++;
    }
    expect(questions).toBe(1001);
    expect(socket.acks.size).toBe(0);
  });

  it("a broadcast with acks to clients that vanish: the responses that came, then nothing pending", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const sockets: any[] = [];
    handle.io.of("/poll").on("connection", (s) => sockets.push(s));
    const clients = await Promise.all([1, 2, 3, 4].map(() => RawWebSocket.socketIo(handle.port, "/poll")));
    const [answering, ...vanishing] = clients as [RawWebSocket, ...RawWebSocket[]];
    const tracker = new LeakTracker(handle);
    // (forEach, not for...of: a suspended async function may keep its last loop value alive.)
    sockets.slice(1).forEach((s) => tracker.track(s, "vanished socket"));
    let outcome: [string | undefined, unknown[]] | null = null;
    await canary.during(async () => {
      const done = new Promise<void>((resolve) =>
        handle.io.of("/poll").timeout(300).emit("vote", (err: Error | null, responses: unknown[]) => {
          outcome = [err?.message, responses];
          resolve();
        }),
      );
      const question = (await answering.nextMessage()) as string;
      const id = /^42\/poll,(\d+)\["vote"\]$/.exec(question)![1];
      for (const v of vanishing) v.reset();
      answering.sendText(`43/poll,${id}["yes"]`);
      await withTimeout(done, 5000, "the broadcast's callback");
    });
    expect(outcome).toEqual(["operation has timed out", ["yes"]]);
    // The adapter drops the pending entries on the same deadline (at most a timer tick later), as socket.io does.
    await withTimeout(
      (async () => {
        while (sockets.some((s) => s.acks.size > 0)) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      2000,
      "the pending acks being dropped",
    );
    sockets.length = 0;
    await tracker.expectCollected();
  });

  it("a broadcast ack without timeout() fails at once, as in socket.io, and leaves nothing pending", async () => {
    const handle = await echoServer();
    const side = nextSocket(handle);
    await RawWebSocket.socketIo(handle.port);
    const socket = await side;
    const err = await new Promise<Error | null>((resolve) => handle.io.emit("vote", (e: Error | null) => resolve(e)));
    expect(err?.message).toBe("operation has timed out");
    await withTimeout(
      (async () => {
        while (socket.acks.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      2000,
      "the pending ack being dropped",
    );
  });

  it("leaves nothing behind: silent clients and unanswered acks are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer(HEARTBEAT);
    const canary = await Canary.connect(handle);
    await expectNoLeak(
      handle,
      canary,
      async () => {
        const side = nextSocket(handle);
        const silent = await RawWebSocket.socketIo(handle.port);
        const socket = await side;
        const acks = Array.from(
          { length: 200 },
          () => new Promise((resolve) => socket.timeout(100).emit("question", "x".repeat(1000), resolve)),
        );
        await Promise.all(acks);
        await new Promise<void>((resolve) => handle.io.timeout(100).emit("vote", () => resolve()));
        await withTimeout(new Promise((resolve) => socket.once("disconnect", resolve)), 5000, "the ping timeout");
        await silent.closed;
      },
      { rounds: 3, minTracked: 9 },
    );
  });
});
