/**
 * Hostile or broken input at the Socket.IO level, sent by a bare Engine.IO
 * client: each violation closes that connection (and only it); the server
 * keeps serving well-behaved clients. Also: ack ids the server did not issue,
 * or already answered, are ignored.
 */
import { Socket as EngineSocket } from "engine.io-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  nextMessage,
  closeAll,
  connectPair,
  createIoServer,
  MODES,
  onClose,
  transportsFor,
  waitFor,
  type IoServerHandle,
  type TransportMode,
} from "../../helpers/io.js";

afterEach(closeAll);

type Message = string | Buffer;

/**
 * Each case: whether the Socket.IO decoder itself rejects the input (then the
 * connected sockets get an `error` event before being disconnected), whether
 * a CONNECT to "/" comes first (answered before going on), and the offending
 * messages.
 */
const CASES: Array<[string, { decodeError: boolean; connectFirst: boolean; send: Message[] }]> = [
  ['EVENT named "disconnect"', { decodeError: true, connectFirst: true, send: ['2["disconnect"]'] }],
  ["EVENT with another reserved name", { decodeError: true, connectFirst: true, send: ['2["connect"]'] }],
  ["EVENT before CONNECT", { decodeError: false, connectFirst: false, send: ['2["hello"]'] }],
  ["second CONNECT to the same namespace", { decodeError: false, connectFirst: true, send: ["0"] }],
  ["BINARY_EVENT header followed by text", { decodeError: true, connectFirst: true, send: ['51-["x",{"_placeholder":true,"num":0}]', '2["y"]'] }],
  ["EVENT with an empty array", { decodeError: true, connectFirst: true, send: ["2[]"] }],
  ["EVENT with a null name", { decodeError: true, connectFirst: true, send: ["2[null]"] }],
  ["EVENT with an object name", { decodeError: true, connectFirst: true, send: ['2[{"a":1}]'] }],
  ["EVENT with an object payload", { decodeError: true, connectFirst: true, send: ["2{}"] }],
  ["invalid JSON", { decodeError: true, connectFirst: true, send: ["2abc"] }],
  ["unknown packet type", { decodeError: true, connectFirst: true, send: ["7"] }],
  ["CONNECT_ERROR from the client", { decodeError: false, connectFirst: true, send: ['4{"message":"x"}'] }],
  ["DISCONNECT for a namespace not joined", { decodeError: false, connectFirst: true, send: ["1/elsewhere,"] }],
  ["binary message when none is expected", { decodeError: true, connectFirst: true, send: [Buffer.from([1, 2, 3])] }],
  ["placeholder number out of range", { decodeError: true, connectFirst: true, send: ['51-["x",{"_placeholder":true,"num":3}]', Buffer.from([1])] }],
  ["zero attachments announced", { decodeError: true, connectFirst: true, send: ['50-["x"]'] }],
  ["empty message", { decodeError: true, connectFirst: true, send: [""] }],
  ["CONNECT with a non-object payload", { decodeError: true, connectFirst: false, send: ["0[1]"] }],
];

async function rawClient(handle: IoServerHandle, mode: TransportMode): Promise<EngineSocket> {
  const socket = new EngineSocket(handle.url, { path: "/socket.io/", transports: transportsFor(mode) as any });
  onClose(() => {
    socket.close();
  });
  await waitFor(socket, "open");
  if (mode === "upgrade" && socket.transport.name !== "websocket") await waitFor(socket, "upgrade");
  return socket;
}

/** A well-behaved official client still gets served. */
async function assertStillServing(handle: IoServerHandle, mode: TransportMode) {
  const { client } = await connectPair(handle, mode);
  expect(await client.timeout(3000).emitWithAck("echo", "still here")).toBe("still here");
}

describe.each(MODES)("bad input closes the connection (%s)", { timeout: 10000 }, (mode) => {
  it.each(CASES)("%s", async (_label, { decodeError, connectFirst, send }) => {
    const handle = await createIoServer();
    const serverEvents: string[] = [];
    handle.io.on("connection", (s) => {
      s.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v));
      s.on("error", (err: unknown) => serverEvents.push(err instanceof Error ? "error" : `non-Error: ${String(err)}`));
      s.on("disconnect", (reason: string) => serverEvents.push(reason));
    });
    const bystander = await connectPair(handle, mode);
    const raw = await rawClient(handle, mode);
    if (connectFirst) {
      const reply = nextMessage(raw, "0");
      raw.send("0");
      expect(JSON.parse((await reply).slice(1))).toHaveProperty("sid");
    }
    const closed = waitFor(raw, "close", 3000);
    for (const message of send) raw.send(message as any);
    await closed;
    if (connectFirst) {
      if (decodeError) expect(serverEvents[0]).toBe("error");
      const reasons = serverEvents.filter((e) => e !== "error");
      expect(reasons).toHaveLength(1);
      expect(["forced close", "forced server close"]).toContain(reasons[0]);
    }
    expect(bystander.client.connected).toBe(true);
    expect(await bystander.client.timeout(3000).emitWithAck("echo", 1)).toBe(1);
    await assertStillServing(handle, mode);
  });

  it("an unsolicited or repeated ack is ignored; the callback runs once", async () => {
    const handle = await createIoServer();
    const answers: unknown[][] = [];
    const connected = waitFor(handle.io, "connection");
    const raw = await rawClient(handle, mode);
    const reply = nextMessage(raw, "0");
    raw.send("0");
    await reply;
    const [socket] = await connected;
    socket.on("echo", (v: unknown, cb: (v: unknown) => void) => cb(v));
    const question = nextMessage(raw, "2");
    socket.emit("question", (...args: unknown[]) => answers.push(args));
    const packet = await question;
    const match = /^2(\d+)\["question"\]$/.exec(packet);
    expect(match).not.toBeNull();
    const id = match![1];
    raw.send(`3${id}["first"]`);
    raw.send(`3${id}["second"]`);
    raw.send(`3${Number(id) + 1000}["unknown id"]`);
    // round trip after the acks: the server processed them by the time this is answered
    const echo = nextMessage(raw, "3");
    raw.send('25["echo","ping"]');
    expect(await echo).toBe('35["ping"]');
    expect(answers).toEqual([["first"]]);
    expect(socket.connected).toBe(true);
  });

  it("a DISCONNECT from the client leaves the namespace and keeps the connection", async () => {
    const handle = await createIoServer();
    const connected = waitFor(handle.io, "connection");
    const raw = await rawClient(handle, mode);
    const reply = nextMessage(raw, "0");
    raw.send("0");
    await reply;
    const [socket] = await connected;
    const gone = waitFor(socket, "disconnect");
    raw.send("1");
    expect((await gone)[0]).toBe("client namespace disconnect");
    // the same connection may join again
    const again = waitFor(handle.io, "connection");
    const second = nextMessage(raw, "0");
    raw.send("0");
    await second;
    const [socket2] = await again;
    expect(socket2.id).not.toBe(socket.id);
    expect(socket2.conn.id).toBe(socket.conn.id);
  });

  it("an event with an ack id and binary from a raw client is delivered intact", async () => {
    const handle = await createIoServer();
    const connected = waitFor(handle.io, "connection");
    const raw = await rawClient(handle, mode);
    const reply = nextMessage(raw, "0");
    raw.send("0");
    await reply;
    const [socket] = await connected;
    const got = waitFor(socket, "upload");
    raw.send('52-7["upload",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]');
    raw.send(Buffer.from([1, 2]) as any);
    raw.send(Buffer.from([3]) as any);
    const [a, b, cb] = await got;
    expect([...a]).toEqual([1, 2]);
    expect([...b.k]).toEqual([3]);
    const ack = nextMessage(raw, "37");
    cb("ok");
    expect(await ack).toBe('37["ok"]');
  });
});
