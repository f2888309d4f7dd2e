/**
 * Every example under examples/ started as a user starts it (a child process,
 * PORT=0) and exercised over plain HTTP and with socket.io-client: the page
 * and the client bundle are served by the example itself, and its realtime
 * exchange works.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startExample, type RunningExample } from "./example-process.js";
import { Teardown, TRANSPORT_MODES, connectClient, request, withTimeout } from "./harness.js";

const teardown = new Teardown();
afterEach(() => teardown.run());

function next<T = any>(socket: ClientSocket, event: string, ms = 3000): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => socket.once(event, resolve)), ms, `"${event}" event`);
}

/** Every payload of `event` a client receives from now on. */
function record<T = any>(socket: ClientSocket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (value: T) => got.push(value));
  return got;
}

/** Waits until `predicate` holds for an incoming event, ignoring the others. */
function until<T = any>(socket: ClientSocket, event: string, predicate: (value: T) => boolean, ms = 3000): Promise<T> {
  let listener: (value: T) => void;
  const found = new Promise<T>((resolve) => {
    listener = (value: T) => {
      if (predicate(value)) resolve(value);
    };
    socket.on(event, listener);
  });
  return withTimeout(found, ms, `matching "${event}" event`).finally(() => socket.off(event, listener));
}

async function checkPageAndBundle(url: string): Promise<void> {
  const page = await request(`${url}/`);
  expect(page.status).toBe(200);
  expect(page.headers["content-type"]).toMatch(/^text\/html/);
  expect(page.body).toContain('<script src="/socket.io/socket.io.js"></script>');

  const bundle = await request(`${url}/socket.io/socket.io.js`);
  expect(bundle.status).toBe(200);
  expect(bundle.headers["content-type"]).toMatch(/javascript/);
  expect(bundle.body).toContain("engine.io");

  const missing = await request(`${url}/no-such-page`);
  expect(missing.status).toBe(404);
}

interface Tweet {
  source: string;
  text: string;
}

describe.each(["express", "hapi", "koa", "fastify", "plain-http"])("examples/%s", (name) => {
  it("serves its page, the client bundle and a 404", async () => {
    const app = await startExample(name, teardown);
    await checkPageAndBundle(app.url);
  });

  it("greets each client with a tweet over every transport and takes tweets back", async () => {
    const app = await startExample(name, teardown);
    const clients: ClientSocket[] = [];
    for (const mode of TRANSPORT_MODES) {
      let greeting!: Promise<Tweet>;
      const client = await connectClient(app.url, { transports: [...mode.options.transports] }, teardown, (socket) => {
        greeting = next<Tweet>(socket, "tweet");
      });
      const tweet = await greeting;
      expect(tweet.source).toBe(name);
      expect(tweet.text).toContain(client.id!);
      clients.push(client);
    }

    const [sender, ...others] = clients;
    const relayed = others.map((client) => next<Tweet>(client, "tweet"));
    const ack = await sender.timeout(3000).emitWithAck("tweet", { text: "  hello from a test  " });
    expect(ack).toEqual({ ok: true, receivedAt: expect.any(Number) });
    for (const tweet of await Promise.all(relayed)) {
      expect(tweet).toEqual({ source: "browser", text: "hello from a test" });
    }
    await expect.poll(() => app.output(), { timeout: 3000 }).toContain(`tweet from ${sender.id}: hello from a test`);
  });

  it("refuses malformed tweets in the ack and keeps running", async () => {
    const app = await startExample(name, teardown);
    const client = await connectClient(app.url, {}, teardown);
    for (const bad of [{ text: "" }, { text: "x".repeat(281) }, { text: 42 }, "just a string", null]) {
      const ack = await client.timeout(3000).emitWithAck("tweet", bad);
      expect(ack).toEqual({ ok: false, error: "a tweet is 1 to 280 characters of text" });
    }
    // No ack function at all: nothing to answer, nothing to crash.
    client.emit("tweet", { text: "fire and forget" });
    await expect(client.timeout(3000).emitWithAck("tweet", { text: "still here" })).resolves.toMatchObject({ ok: true });
  });
});

describe("examples/chat", () => {
  interface JoinReply {
    ok: boolean;
    error?: string;
    nick?: string;
    room?: string;
    users?: string[];
    history?: Array<{ nick: string; text: string }>;
  }

  async function join(client: ClientSocket, nick: unknown, room: unknown): Promise<JoinReply> {
    return client.timeout(3000).emitWithAck("join", { nick, room });
  }

  /** A history file of its own in a fresh directory, removed at teardown. */
  async function historyFile(): Promise<string> {
    const dir = await mkdtemp(joinPath(tmpdir(), "tidewire-chat-"));
    teardown.add(() => rm(dir, { recursive: true, force: true }));
    return joinPath(dir, "history.json");
  }

  /** The chat demo with its own history file (never the repository's examples/chat/data/). */
  async function startChat(file?: string, port?: number): Promise<RunningExample> {
    return startExample("chat", teardown, { env: { CHAT_HISTORY_FILE: file ?? (await historyFile()) }, port });
  }

  it("serves the page, its assets, the client bundle and a health check", async () => {
    const app = await startChat();
    await checkPageAndBundle(app.url);
    for (const asset of ["/style.css", "/app.js"]) {
      const res = await request(`${app.url}${asset}`);
      expect(res.status).toBe(200);
    }
    const health = await request(`${app.url}/healthz`);
    expect(JSON.parse(health.body)).toEqual({ ok: true, clients: 0 });
  });

  it("joins rooms with presence, messages with acks, typing and history", async () => {
    const app = await startChat();
    let rooms!: Promise<string[]>;
    const ada = await connectClient(app.url, {}, teardown, (s) => (rooms = next(s, "rooms")));
    expect(await rooms).toEqual(["general", "random", "help"]);
    const bob = await connectClient(app.url, { transports: ["websocket"] }, teardown);

    expect(await join(ada, "", "general")).toEqual({ ok: false, error: "pick a nickname of 1 to 24 characters" });
    expect((await join(ada, "Ada", "no/slashes")).ok).toBe(false);
    expect(await ada.timeout(3000).emitWithAck("message", "too early")).toEqual({ ok: false, error: "join a room first" });

    const adaJoined = await join(ada, " Ada ", "#General");
    expect(adaJoined).toEqual({ ok: true, nick: "Ada", room: "general", users: ["Ada"], history: [] });

    const presence = until<{ room: string; users: string[] }>(ada, "presence", (p) => p.users.length === 2);
    const joinedNotice = next<{ text: string }>(ada, "system");
    expect(await join(bob, "Ada", "general")).toEqual({
      ok: false,
      error: '"Ada" is already in #general, pick another nickname',
    });
    expect((await join(bob, "Bob", "general")).users).toEqual(["Ada", "Bob"]);
    expect(await presence).toEqual({ room: "general", users: ["Ada", "Bob"] });
    expect((await joinedNotice).text).toBe("Bob joined");

    const typing = next(bob, "typing");
    ada.emit("typing", true);
    expect(await typing).toEqual({ nick: "Ada", typing: true });

    const delivered = next(bob, "message");
    const ack = await ada.timeout(3000).emitWithAck("message", "hello Bob");
    expect(ack).toEqual({
      ok: true,
      message: { kind: "text", id: expect.any(Number), nick: "Ada", text: "hello Bob", time: expect.any(Number) },
    });
    expect(await delivered).toEqual(ack.message);
    expect((await ada.timeout(3000).emitWithAck("message", "x".repeat(1001))).ok).toBe(false);

    // Someone joining later gets the recent messages.
    const cyd = await connectClient(app.url, {}, teardown);
    const cydJoined = await join(cyd, "Cyd", "general");
    expect(cydJoined.history).toEqual([ack.message]);

    // Moving to another room updates both rooms' presence.
    const left = until<{ users: string[] }>(ada, "presence", (p) => p.users.length === 2);
    expect((await join(cyd, "Cyd", "random")).users).toEqual(["Cyd"]);
    expect((await left).users).toEqual(["Ada", "Bob"]);

    // Leaving: presence shrinks and a notice goes out.
    const gone = until<{ users: string[] }>(ada, "presence", (p) => p.users.length === 1);
    const notice = until<{ text: string }>(ada, "system", (m) => m.text === "Bob left");
    bob.disconnect();
    expect((await gone).users).toEqual(["Ada"]);
    await notice;
  });

  it("sends binary files back to the whole room, sender included, within limits", async () => {
    const app = await startChat();
    const ada = await connectClient(app.url, { transports: ["polling"] }, teardown);
    const bob = await connectClient(app.url, {}, teardown);
    await join(ada, "Ada", "files");
    await join(bob, "Bob", "files");

    const bytes = Buffer.alloc(200 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    const toAda = next(ada, "file", 5000);
    const toBob = next(bob, "file", 5000);
    const ack = await ada.timeout(5000).emitWithAck("file", { name: "data.bin", type: "application/x-demo", data: bytes });
    expect(ack).toEqual({ ok: true, id: expect.any(Number), size: bytes.length });
    for (const file of await Promise.all([toAda, toBob])) {
      expect(file).toMatchObject({ id: ack.id, nick: "Ada", name: "data.bin", type: "application/x-demo", size: bytes.length });
      expect(Buffer.from(file.data).equals(bytes)).toBe(true);
    }

    const tooBig = await bob.timeout(5000).emitWithAck("file", { name: "big", type: "x/y", data: Buffer.alloc(512 * 1024 + 1) });
    expect(tooBig).toEqual({ ok: false, error: "files are limited to 512 KiB" });
    expect(await bob.timeout(3000).emitWithAck("file", { name: "none" })).toEqual({
      ok: false,
      error: "no file data received",
    });
    // A bogus MIME type is replaced, so pages only render known image types.
    const sanitized = next(bob, "file");
    await bob.timeout(3000).emitWithAck("file", { name: "x", type: "text/html; <script>", data: Buffer.from([1]) });
    expect((await sanitized).type).toBe("application/octet-stream");
  });
  it("keeps pictures and files in the room history like text, across a server restart", async () => {
    const file = await historyFile();
    let app = await startChat(file);
    const ada = await connectClient(app.url, {}, teardown);
    await join(ada, "Ada", "gallery");
    const said = await ada.timeout(3000).emitWithAck("message", { cid: "cid-text-0001", text: "a picture follows" });
    const picture = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 250, 251, 252]);
    const sent = await ada.timeout(3000).emitWithAck("file", { cid: "cid-file-0001", name: "p.png", type: "image/png", data: picture });
    expect(sent).toEqual({ ok: true, id: said.message.id + 1, size: picture.length });

    const expected = [
      { kind: "text", id: said.message.id, cid: "cid-text-0001", nick: "Ada", text: "a picture follows", time: expect.any(Number) },
      { kind: "file", id: sent.id, cid: "cid-file-0001", nick: "Ada", name: "p.png", type: "image/png", size: picture.length, data: expect.anything(), time: expect.any(Number) },
    ];
    // Someone who comes later sees the picture too, bytes intact.
    const cyd = await connectClient(app.url, {}, teardown);
    const late = await join(cyd, "Cyd", "gallery");
    expect(late.history).toEqual(expected);
    expect(Buffer.from((late.history![1] as any).data).equals(picture)).toBe(true);

    // A restart (SIGTERM, as Ctrl-C) on the same port: the history comes back from the file.
    const port = app.port;
    await app.stop();
    app = await startChat(file, port);
    expect(app.output()).toContain("2 messages of room history");
    const dora = await connectClient(app.url, {}, teardown);
    const afterRestart = await join(dora, "Dora", "gallery");
    expect(afterRestart.history).toEqual(expected);
    expect(Buffer.from((afterRestart.history![1] as any).data).equals(picture)).toBe(true);
    // Ids go on increasing, and a resend from before the restart is recognised.
    const next = await dora.timeout(3000).emitWithAck("message", "after the restart");
    expect(next.message.id).toBeGreaterThan(sent.id);
    expect(await dora.timeout(3000).emitWithAck("message", { cid: "cid-text-0001", text: "a picture follows" })).toEqual({
      ok: true,
      message: expected[0],
      duplicate: true,
    });
  });

  it("posts a message or file sent twice with the same client id once", async () => {
    const app = await startChat();
    const ada = await connectClient(app.url, {}, teardown);
    const bob = await connectClient(app.url, {}, teardown);
    await join(ada, "Ada", "general");
    await join(bob, "Bob", "general");
    const seen: string[] = [];
    bob.on("message", (m) => seen.push(`message ${m.text}`));
    bob.on("file", (f) => seen.push(`file ${f.name}`));

    const first = await ada.timeout(3000).emitWithAck("message", { cid: "resent-0001", text: "only once" });
    const again = await ada.timeout(3000).emitWithAck("message", { cid: "resent-0001", text: "only once" });
    expect(again).toEqual({ ok: true, message: first.message, duplicate: true });
    const data = Buffer.from("file bytes");
    const f1 = await ada.timeout(3000).emitWithAck("file", { cid: "resent-0002", name: "a.bin", type: "x/y", data });
    const f2 = await ada.timeout(3000).emitWithAck("file", { cid: "resent-0002", name: "a.bin", type: "x/y", data });
    expect(f2).toEqual({ ok: true, id: f1.id, size: data.length, duplicate: true });
    // An id is for one kind of thing.
    expect(await ada.timeout(3000).emitWithAck("file", { cid: "resent-0001", name: "x", type: "x/y", data })).toEqual({
      ok: false,
      error: "this file id was already used for a message",
    });
    // A malformed id is ignored, not trusted: the message is posted normally.
    const plain = await ada.timeout(3000).emitWithAck("message", { cid: "bad id!", text: "marker" });
    expect(plain.message).not.toHaveProperty("cid");
    await expect.poll(() => seen, { timeout: 3000 }).toContain("message marker");
    expect(seen).toEqual(["message only once", "file a.bin", "message marker"]);

    const cyd = await connectClient(app.url, {}, teardown);
    expect((await join(cyd, "Cyd", "general")).history!.map((e: any) => e.id)).toEqual([first.message.id, f1.id, plain.message.id]);
  });

  it("recovers a dropped connection: same session, the broadcasts it missed, a notice to the room", async () => {
    const app = await startChat();
    const ada = await connectClient(app.url, {}, teardown);
    const bob = await connectClient(app.url, { transports: ["websocket"], reconnection: true, reconnectionDelay: 50 }, teardown);
    await join(ada, "Ada", "general");
    await join(bob, "Bob", "general");
    const bobId = bob.id;

    const gone = until<{ text: string }>(ada, "system", (m) => m.text === "Bob left");
    // The network drops: the engine connection closes under the socket.
    bob.io.engine.close();
    await gone;
    const missed = await ada.timeout(3000).emitWithAck("message", "while you were away");

    const bobSaw = record(bob, "system");
    const got = next(bob, "message", 5000);
    const back = until<{ text: string }>(ada, "system", (m) => m.text === "Bob is back", 5000);
    const presence = until<{ users: string[] }>(ada, "presence", (p) => p.users.length === 2, 5000);
    await next(bob, "connect", 5000);
    expect(bob.recovered).toBe(true);
    expect(bob.id).toBe(bobId);
    expect(await got).toEqual(missed.message);
    await back;
    expect((await presence).users).toEqual(["Ada", "Bob"]);
    // The notices about Bob were for the others, also in the replay.
    expect(bobSaw.map((m) => m.text)).toEqual([]);
  });

  it("answers an acknowledged ping (the page's round-trip time)", async () => {
    const app = await startChat();
    const client = await connectClient(app.url, {}, teardown);
    const started = performance.now();
    await expect(client.timeout(3000).emitWithAck("ping")).resolves.toBeUndefined();
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
