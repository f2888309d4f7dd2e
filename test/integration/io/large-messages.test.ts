/**
 * Large messages to clients that read: maxBufferedBytes judges the backlog
 * a client does not drain, not the size of the message being written, so a
 * message of any size arrives whole, with the default limits, over
 * WebSocket and polling, and packets may follow it (socket.io delivers them
 * too; it has no bound at all). What stops a client that does not read is
 * in test/hostile/slow-consumer.test.ts.
 *
 * Over polling the official client runs in Node with its `Fetch` transport:
 * its default XMLHttpRequest shim (xmlhttprequest-ssl) concatenates the
 * response chunk by chunk, which takes minutes for 100 MB with any server.
 * maxHttpBufferSize does not apply from server to client, as with engine.io.
 * A message polling cannot carry at all is in ../engine/send-data.test.ts.
 */
import { Fetch } from "engine.io-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { closeAll, connectPair, createIoServer, waitFor, type ClientOptions } from "../../helpers/io.js";

afterEach(closeAll);

const MODES = ["websocket", "polling"] as const;
type Mode = (typeof MODES)[number];

function options(mode: Mode): ClientOptions {
  return mode === "polling" ? { transports: [Fetch] as any } : {};
}

/** A server whose sockets answer "echo" with an ack. */
async function echoServer() {
  const handle = await createIoServer();
  handle.io.on("connection", (socket) => socket.on("echo", (x: unknown, ack: (x: unknown) => void) => ack(x)));
  return handle;
}

async function expectAlive(client: ClientSocket): Promise<void> {
  expect(await client.timeout(5000).emitWithAck("echo", "alive")).toBe("alive");
}

function watchDisconnect(client: ClientSocket): string[] {
  const reasons: string[] = [];
  client.on("disconnect", (reason) => reasons.push(reason));
  return reasons;
}

/** A Buffer whose bytes depend on their position (a shifted or truncated copy would not compare equal). */
function patterned(size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) buf.writeUInt32BE(i, i);
  return buf;
}

describe.each(MODES)("large messages to a client that reads (%s)", (mode) => {
  it("4.5 MB of JSON and a 4.5 MB Buffer arrive with the default maxBufferedBytes; the client stays", async () => {
    const handle = await echoServer();
    const { client, socket } = await connectPair(handle, mode, options(mode));
    const reasons = watchDisconnect(client);
    const text = "j".repeat(4.5e6);
    const bytes = patterned(4.5e6);
    const gotText = waitFor<[string]>(client, "text", 10000);
    socket.emit("text", text);
    expect((await gotText)[0] === text).toBe(true);
    const gotBytes = waitFor<[Buffer]>(client, "bytes", 10000);
    socket.emit("bytes", bytes);
    expect(Buffer.compare((await gotBytes)[0], bytes)).toBe(0);
    // Both at once, with smaller events around them, in order.
    const seen: string[] = [];
    client.onAny((event: string) => seen.push(event));
    const last = waitFor(client, "after", 10000);
    socket.emit("before");
    socket.emit("text", text);
    socket.emit("bytes", bytes);
    socket.emit("after");
    await last;
    expect(seen).toEqual(["before", "text", "bytes", "after"]);
    await expectAlive(client);
    expect(reasons).toEqual([]);
    expect(socket.connected).toBe(true);
  });

  it("100 MB of JSON and a 100 MB Buffer arrive whole", { timeout: 120_000 }, async () => {
    const handle = await echoServer();
    const { client, socket } = await connectPair(handle, mode, options(mode));
    const reasons = watchDisconnect(client);
    let text: string | null = "t".repeat(100e6);
    const gotText = waitFor<[string]>(client, "text", 60_000);
    socket.emit("text", text);
    const [received] = await gotText;
    expect(received.length).toBe(100e6);
    expect(received === text).toBe(true);
    text = null;
    const bytes = patterned(100e6);
    const gotBytes = waitFor<[Buffer]>(client, "bytes", 60_000);
    socket.emit("bytes", bytes);
    expect(Buffer.compare((await gotBytes)[0], bytes)).toBe(0);
    await expectAlive(client);
    expect(reasons).toEqual([]);
    expect(socket.connected).toBe(true);
  });
});
