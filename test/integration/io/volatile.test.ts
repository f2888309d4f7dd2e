/**
 * Volatile emits as socket.io 4.8 delivers them: a volatile packet is
 * dropped whenever the connection is busy, that is when anything is already
 * waiting to leave for that client (an earlier packet of the same
 * event-loop turn included), and delivered when the connection is idle.
 * socket.io's own suite checks this (packages/socket.io/test/socket.ts and
 * namespaces.ts, "volatile"). WebSocket only: over polling, whether a GET is
 * pending at the moment of the emit depends on the client's timing.
 * `TEST_AGAINST=socket.io` runs the file against the reference.
 */
import { afterEach, describe, expect, it } from "vitest";
import { barrier, closeAll, connectMany, connectPair, createIoServer, recordEvents } from "../../helpers/io.js";

afterEach(closeAll);

async function idlePair() {
  const handle = await createIoServer({ transports: ["websocket"] });
  const pair = await connectPair(handle, "websocket");
  // a round trip: whatever the connection sent so far has left
  await barrier([pair]);
  return { handle, ...pair, log: recordEvents(pair.client) };
}

describe("volatile emits (websocket)", { timeout: 10000 }, () => {
  it("a volatile emit to an idle connection is delivered", async () => {
    const { client, socket, log } = await idlePair();
    socket.volatile.emit("v", 1);
    await barrier([{ client, socket }]);
    expect(log).toEqual([["v", 1]]);
  });

  it("only the first of several volatile emits in one turn is delivered", async () => {
    const { client, socket, log } = await idlePair();
    socket.volatile.emit("v", 1);
    socket.volatile.emit("v", 2);
    socket.volatile.emit("v", 3);
    await barrier([{ client, socket }]);
    expect(log).toEqual([["v", 1]]);
  });

  it("a volatile emit behind a regular one is dropped; regular emits after it are delivered", async () => {
    const { client, socket, log } = await idlePair();
    socket.emit("r", 1);
    socket.volatile.emit("v", 2);
    socket.emit("r", 3);
    await barrier([{ client, socket }]);
    expect(log).toEqual([
      ["r", 1],
      ["r", 3],
    ]);
  });

  it("with binary attachments: only the first volatile emit of the turn, whole", async () => {
    const { client, socket, log } = await idlePair();
    socket.volatile.emit("b", Buffer.from([1, 2]));
    socket.volatile.emit("b", Buffer.from([3]));
    await barrier([{ client, socket }]);
    expect(log.length).toBe(1);
    expect(log[0][0]).toBe("b");
    expect([...new Uint8Array(log[0][1])]).toEqual([1, 2]);
  });

  it("volatile broadcasts: each client gets the first of the turn only", async () => {
    const handle = await createIoServer({ transports: ["websocket"] });
    const { clients, sockets } = await connectMany(handle, "websocket", 2);
    const pairs = clients.map((client, i) => ({ client, socket: sockets[i] }));
    await barrier(pairs);
    const logs = clients.map(recordEvents);
    handle.io.volatile.emit("t", "a");
    handle.io.volatile.emit("t", "b");
    handle.io.volatile.emit("bin", Buffer.from([7]));
    await barrier(pairs);
    for (const log of logs) expect(log).toEqual([["t", "a"]]);
  });

  it("the next turn's volatile emit is delivered once the connection is idle again", async () => {
    const { client, socket, log } = await idlePair();
    socket.volatile.emit("v", 1);
    socket.volatile.emit("v", 2);
    await barrier([{ client, socket }]);
    socket.volatile.emit("v", 3);
    await barrier([{ client, socket }]);
    expect(log).toEqual([
      ["v", 1],
      ["v", 3],
    ]);
  });
});
