/**
 * @socket.io/admin-ui 0.5.1, unchanged, on a tidewire server: the official
 * client on `/admin` (as the dashboard connects) gets `config`,
 * `all_sockets`, `server_stats` every 2 s and the development-mode
 * notifications for real client activity; the dashboard's commands (emit,
 * join, leave, _disconnect) reach real clients; basic authentication lets
 * the right credentials (or the session id they earned) in and nothing else.
 * `TEST_AGAINST=socket.io` runs the same expectations against socket.io 4.8.
 */
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { instrument } from "@socket.io/admin-ui";
import {
  barrier,
  closeAll,
  connectClient,
  connectPair,
  createClient,
  createIoServer,
  createManager,
  listen,
  recordEvents,
  trackIo,
  waitFor,
  type IoServerHandle,
} from "../../helpers/io.js";
import { Server } from "../../helpers/impl.js";

afterEach(closeAll);

// bcryptjs as the admin UI itself resolves it (its own dependency).
const require = createRequire(import.meta.url);
const bcrypt = createRequire(require.resolve("@socket.io/admin-ui"))("bcryptjs") as {
  hashSync(password: string, rounds: number): string;
};

const msgpackParser = require("socket.io-msgpack-parser");

const FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

/**
 * The next `event` on `emitter` whose arguments satisfy `match`. Call it
 * before the action that causes the event.
 */
function nextEvent(
  emitter: ClientSocket,
  event: string,
  match: (...args: any[]) => boolean = () => true,
  ms = 4000,
): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: any[]) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching "${event}" within ${ms} ms`));
    }, ms);
    emitter.on(event, listener);
  });
}

/** A timestamp the admin UI sends (a Date: JSON-encoded, or a Date with msgpack): within the last few seconds. */
function expectRecent(date: unknown): void {
  const time = date instanceof Date ? date.getTime() : typeof date === "string" ? Date.parse(date) : NaN;
  const age = Date.now() - time;
  expect(age).toBeGreaterThanOrEqual(-1000);
  expect(age).toBeLessThan(10000);
}

/**
 * A server instrumented in development mode. The app: a middleware puts
 * `user` into socket.data, the connection handler joins "lobby" when the
 * client asks for it and records `joinedAt`, and "chat" is acknowledged and
 * answered with "chat-echo".
 */
async function instrumentedServer(
  opts: Record<string, unknown> = { auth: false },
  serverOpts: Record<string, unknown> = {},
): Promise<IoServerHandle> {
  const handle = await createIoServer(serverOpts);
  const { io } = handle;
  instrument(io, { mode: "development", serverId: "node-under-test", ...opts });
  io.use((socket, next) => {
    socket.data.user = socket.handshake.auth.user ?? "anonymous";
    next();
  });
  io.on("connection", (socket) => {
    if (socket.handshake.auth.lobby) socket.join("lobby");
    socket.data.joinedAt = 42;
    socket.on("chat", (msg: string, ack?: (reply: string) => void) => {
      ack?.(`got ${msg}`);
      socket.emit("chat-echo", msg.toUpperCase());
    });
    socket.on("leave-lobby", () => socket.leave("lobby"));
  });
  return handle;
}

/** The admin client (official socket.io-client on /admin), its listeners attached before it connects. */
async function connectAdmin(
  handle: IoServerHandle,
  opts: Record<string, unknown> = {},
): Promise<{ admin: ClientSocket; config: any; allSockets: any[] }> {
  const admin = createClient(handle, "websocket", opts, "/admin");
  const config = nextEvent(admin, "config");
  const allSockets = nextEvent(admin, "all_sockets");
  await waitFor(admin, "connect", 4000);
  return { admin, config: (await config)[0], allSockets: (await allSockets)[0] };
}

describe("@socket.io/admin-ui 0.5.1 on the server, auth: false, development mode", { timeout: 15000 }, () => {
  it("sends config and all_sockets on connection, the sockets described as the dashboard reads them", async () => {
    const handle = await instrumentedServer();
    const ada = await connectPair(handle, "upgrade", { auth: { user: "ada", lobby: true } });
    const { admin, config, allSockets } = await connectAdmin(handle);

    expect(config).toEqual({ supportedFeatures: FEATURES });
    const adas = allSockets.filter((s: any) => s.id === ada.socket.id);
    expect(adas).toHaveLength(1);
    const entry = adas[0];
    expect(entry).toMatchObject({
      id: ada.socket.id,
      clientId: ada.client.io.engine.id.slice(0, 12),
      transport: "websocket",
      nsp: "/",
      data: { user: "ada", joinedAt: 42 },
    });
    expect(entry.rooms.sort()).toEqual([ada.socket.id, "lobby"].sort());
    expect(entry.handshake).toMatchObject({
      address: "127.0.0.1",
      query: { EIO: "4", transport: "polling" },
      secure: false,
      xdomain: false,
    });
    expect(entry.handshake.headers.host).toBe(`127.0.0.1:${handle.port}`);
    expect(entry.handshake.url).toMatch(/^\/socket\.io\/\?EIO=4&transport=polling/);
    expect(typeof entry.handshake.issued).toBe("number");
    expect(new Date(entry.handshake.time).getTime()).toBe(Math.floor(entry.handshake.issued / 1000) * 1000);
    // The admin UI's own socket is listed too, in its namespace.
    expect(allSockets.find((s: any) => s.id === admin.id)).toMatchObject({ nsp: "/admin", transport: "websocket" });
  });

  it("notifies socket_connected, socket_updated, room_joined, event_received, event_sent, room_left and socket_disconnected", async () => {
    const handle = await instrumentedServer();
    const { admin } = await connectAdmin(handle);
    const log = recordEvents(admin);

    const connected = nextEvent(admin, "socket_connected", (s) => s.nsp === "/" && s.data.user === "bob");
    const joined = nextEvent(admin, "room_joined", (nsp, room) => nsp === "/" && room === "lobby");
    const upgraded = nextEvent(admin, "socket_updated", (u) => u.nsp === "/" && u.transport === "websocket");
    const { client, socket } = await connectPair(handle, "upgrade", { auth: { user: "bob", lobby: true } });

    const [described, at] = await connected;
    expectRecent(at);
    expect(described).toMatchObject({ id: socket.id, nsp: "/", transport: "polling", data: { user: "bob" } });
    // The connection handler wrote socket.data after the dashboard was told: an update follows.
    await expect.poll(() => log.some(([ev, u]) => ev === "socket_updated" && u.id === socket.id && u.data?.joinedAt === 42)).toBe(true);
    const [roomNsp, room, id, joinedAt] = await joined;
    expect([roomNsp, room, id]).toEqual(["/", "lobby", socket.id]);
    expectRecent(joinedAt);
    expect((await upgraded)[0]).toEqual({ id: socket.id, nsp: "/", transport: "websocket" });

    const received = nextEvent(admin, "event_received", (nsp, sid) => nsp === "/" && sid === socket.id);
    const sent = nextEvent(admin, "event_sent", (nsp, sid) => nsp === "/" && sid === socket.id);
    const reply = await client.timeout(3000).emitWithAck("chat", "hello");
    expect(reply).toBe("got hello");
    const [, , receivedArgs, receivedAt] = await received;
    expect(receivedArgs).toEqual(["chat", "hello"]); // the ack callback is left out
    expectRecent(receivedAt);
    const [, , sentArgs] = await sent;
    expect(sentArgs).toEqual(["chat-echo", "HELLO"]);

    const left = nextEvent(admin, "room_left", (nsp, r, sid) => nsp === "/" && r === "lobby" && sid === socket.id);
    client.emit("leave-lobby");
    expectRecent((await left)[3]);

    const gone = nextEvent(admin, "socket_disconnected", (nsp, sid) => nsp === "/" && sid === socket.id);
    client.disconnect();
    const [, , reason, goneAt] = await gone;
    expect(reason).toBe("client namespace disconnect");
    expectRecent(goneAt);
  });

  it("follows sockets of a namespace created later and of dynamic child namespaces", async () => {
    const handle = await instrumentedServer();
    handle.io.of(/^\/team-\d+$/);
    const { admin } = await connectAdmin(handle);
    handle.io.of("/late");

    const late = nextEvent(admin, "socket_connected", (s) => s.nsp === "/late");
    const lateClient = await connectClient(handle, "websocket", {}, "/late");
    expect((await late)[0].id).toBe(lateClient.id);

    const child = nextEvent(admin, "socket_connected", (s) => s.nsp === "/team-7");
    const childClient = await connectClient(handle, "websocket", {}, "/team-7");
    expect((await child)[0]).toMatchObject({ id: childClient.id, transport: "websocket" });
    const event = nextEvent(admin, "event_received", (nsp) => nsp === "/team-7");
    childClient.emit("ping", 1);
    expect((await event)[2]).toEqual(["ping", 1]);
  });

  it("emits server_stats every 2 s: clients, polling clients, namespaces and aggregated events", async () => {
    const handle = await instrumentedServer();
    const { admin } = await connectAdmin(handle);
    const stats: Array<{ at: number; stats: any }> = [];
    admin.on("server_stats", (s: any) => stats.push({ at: Date.now(), stats: s }));

    const polling = await connectPair(handle, "polling", { auth: { user: "pat" } });
    const ws = await connectPair(handle, "websocket", { auth: { user: "wes" } });
    await polling.client.timeout(3000).emitWithAck("chat", "over polling");
    await ws.client.timeout(3000).emitWithAck("chat", "over websocket");

    const isCurrent = (s: any) => s.clientsCount === 3 && s.pollingClientsCount === 1;
    await expect.poll(() => stats.some((e) => isCurrent(e.stats)), { timeout: 5000, interval: 50 }).toBe(true);
    const current = stats.find((e) => isCurrent(e.stats))!.stats;
    expect(current).toMatchObject({ serverId: "node-under-test", pid: process.pid, clientsCount: 3, pollingClientsCount: 1 });
    expect(typeof current.hostname).toBe("string");
    expect(current.uptime).toBeGreaterThan(0);
    expect(current.namespaces).toEqual(
      expect.arrayContaining([
        { name: "/", socketsCount: 2 },
        { name: "/admin", socketsCount: 1 },
      ]),
    );

    // Aggregated engine events, per second: every type the dashboard charts shows up.
    const totals = (type: string) =>
      stats.flatMap((e) => e.stats.aggregatedEvents).filter((a: any) => a.type === type).reduce((n: number, a: any) => n + a.count, 0);
    expect(totals("rawConnection")).toBeGreaterThanOrEqual(2);
    expect(totals("packetsIn")).toBeGreaterThanOrEqual(2);
    expect(totals("packetsOut")).toBeGreaterThanOrEqual(2);
    expect(totals("bytesIn")).toBeGreaterThan(totals("packetsIn"));
    expect(totals("bytesOut")).toBeGreaterThan(totals("packetsOut"));
    for (const a of stats.flatMap((e) => e.stats.aggregatedEvents)) expect(a.timestamp % 1000).toBe(0);

    // The polling client leaves: its disconnection is counted with the engine's reason.
    const before = stats.length;
    polling.client.disconnect();
    await expect
      .poll(() => stats.slice(before).some((e) => e.stats.pollingClientsCount === 0 && e.stats.clientsCount === 2), {
        timeout: 5000,
        interval: 50,
      })
      .toBe(true);
    const disconnections = stats.flatMap((e) => e.stats.aggregatedEvents).filter((a: any) => a.type === "rawDisconnection");
    expect(disconnections.map((a: any) => a.subType)).toContain("transport close");

    // Every 2 s.
    await expect.poll(() => stats.length, { timeout: 5000, interval: 50 }).toBeGreaterThanOrEqual(3);
    const gaps = stats.slice(1).map((e, i) => e.at - stats[i].at);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(1500);
      expect(gap).toBeLessThan(3000);
    }
  });

  it("counts polling clients until they upgrade", async () => {
    const handle = await instrumentedServer();
    const { admin } = await connectAdmin(handle);
    const stalled = await connectPair(handle, "polling");
    const statsWithPolling = nextEvent(admin, "server_stats", (s) => s.clientsCount === 2, 5000);
    expect((await statsWithPolling)[0].pollingClientsCount).toBe(1);
    const upgraded = await connectPair(handle, "upgrade");
    stalled.client.disconnect();
    const [after] = await nextEvent(admin, "server_stats", (s) => s.clientsCount === 2, 5000);
    // The upgraded client is no polling client any more; the polling one left.
    expect(after.pollingClientsCount).toBe(0);
    // Its close is not counted a second time: the admin UI took its close listener off at the upgrade.
    upgraded.client.disconnect();
    const [last] = await nextEvent(admin, "server_stats", (s) => s.clientsCount === 1, 5000);
    expect(last.pollingClientsCount).toBe(0);
  });

  it("works when instrument() runs before the server is attached", async () => {
    const io = new Server();
    instrument(io, { auth: false, mode: "development" });
    const httpServer = createServer();
    io.attach(httpServer);
    trackIo(io, httpServer);
    const port = await listen(httpServer);
    const handle: IoServerHandle = { io, httpServer, port, url: `http://127.0.0.1:${port}` };
    const { admin } = await connectAdmin(handle);
    await connectPair(handle, "polling");
    const [stats] = await nextEvent(admin, "server_stats", (s) => s.clientsCount === 2, 5000);
    expect(stats.pollingClientsCount).toBe(1);
    expect(stats.aggregatedEvents.some((a: any) => a.type === "rawConnection")).toBe(true);
  });
});

describe("other settings of the dashboard and of instrument()", { timeout: 15000 }, () => {
  it("speaks socket.io-msgpack-parser, the dashboard's msgpack option", async () => {
    const handle = await instrumentedServer({ auth: false }, { parser: msgpackParser });
    const { admin, config } = await connectAdmin(handle, { parser: msgpackParser });
    expect(config).toEqual({ supportedFeatures: FEATURES });
    const connected = nextEvent(admin, "socket_connected", (s) => s.nsp === "/");
    const { client, socket } = await connectPair(handle, "websocket", { parser: msgpackParser, auth: { user: "mia" } });
    const [described, at] = await connected;
    expect(described).toMatchObject({ id: socket.id, data: { user: "mia" }, transport: "websocket" });
    expectRecent(at);
    const received = nextEvent(admin, "event_received", (nsp, id) => id === socket.id);
    client.emit("chat", "binary-safe");
    expect((await received)[2]).toEqual(["chat", "binary-safe"]);
    const [stats] = await nextEvent(admin, "server_stats", (s) => s.clientsCount === 2, 5000);
    expect(stats.namespaces).toEqual(expect.arrayContaining([{ name: "/", socketsCount: 1 }]));
  });

  it("production mode: stats and commands, no per-socket notifications", async () => {
    const handle = await instrumentedServer({ auth: false, mode: "production" });
    const admin = createClient(handle, "websocket", {}, "/admin");
    const log = recordEvents(admin);
    const config = nextEvent(admin, "config");
    await waitFor(admin, "connect");
    expect((await config)[0].supportedFeatures).toEqual(FEATURES.filter((f) => f !== "ALL_EVENTS"));
    const ada = await connectPair(handle, "websocket", { auth: { user: "ada" } });
    await ada.client.timeout(3000).emitWithAck("chat", "quiet");
    const [stats] = await nextEvent(admin, "server_stats", (s) => s.clientsCount === 2, 5000);
    expect(stats.aggregatedEvents.length).toBeGreaterThan(0);
    const announced = waitFor(ada.client, "announce");
    admin.emit("emit", "/", "", "announce", "still obeyed");
    expect(await announced).toEqual(["still obeyed"]);
    expect(log.map(([event]) => event).filter((e) => e !== "server_stats")).toEqual(["config"]);
  });
});

describe("the dashboard's commands reach real clients", { timeout: 15000 }, () => {
  /** Three clients: ada and bob in "lobby", cy alone. */
  async function scene() {
    const handle = await instrumentedServer();
    const { admin } = await connectAdmin(handle);
    const ada = await connectPair(handle, "websocket", { auth: { user: "ada", lobby: true } });
    const bob = await connectPair(handle, "polling", { auth: { user: "bob", lobby: true } });
    const cy = await connectPair(handle, "websocket", { auth: { user: "cy" } });
    return { handle, admin, ada, bob, cy, all: [ada, bob, cy] };
  }

  it("emit: to a namespace, and to a room only", async () => {
    const { admin, ada, bob, cy, all } = await scene();
    const logs = all.map((p) => recordEvents(p.client));

    const toAll = Promise.all(all.map((p) => waitFor(p.client, "announce")));
    admin.emit("emit", "/", "", "announce", "to everyone", { n: 1 });
    expect(await toAll).toEqual(all.map(() => ["to everyone", { n: 1 }]));

    const toLobby = Promise.all([ada, bob].map((p) => nextEvent(p.client, "announce", (m) => m === "lobby only")));
    admin.emit("emit", "/", "lobby", "announce", "lobby only");
    await toLobby;
    await barrier(all);
    const twice = [["announce", "to everyone", { n: 1 }], ["announce", "lobby only"]];
    expect(logs).toEqual([twice, twice, [["announce", "to everyone", { n: 1 }]]]);
    expect(cy.client.connected).toBe(true);
  });

  it("join: one socket (by its id as filter), then every socket of a room, then the whole namespace", async () => {
    const { handle, admin, ada, bob, cy, all } = await scene();
    const io = handle.io;

    const joined = nextEvent(admin, "room_joined", (nsp, room, id) => room === "vip" && id === cy.socket.id);
    admin.emit("join", "/", "vip", cy.socket.id);
    await joined;
    expect(cy.socket.rooms.has("vip")).toBe(true);
    const logs = all.map((p) => recordEvents(p.client));
    io.to("vip").emit("vip-news", 1);
    await barrier(all);
    expect(logs.map((l) => l.length)).toEqual([0, 0, 1]);

    const lobbyJoined = Promise.all(
      [ada, bob].map((p) => nextEvent(admin, "room_joined", (nsp, room, id) => room === "stage" && id === p.socket.id)),
    );
    admin.emit("join", "/", "stage", "lobby");
    await lobbyJoined;
    expect(all.map((p) => p.socket.rooms.has("stage"))).toEqual([true, true, false]);

    const everyone = Promise.all(all.map((p) => nextEvent(admin, "room_joined", (nsp, room, id) => room === "hall" && id === p.socket.id)));
    admin.emit("join", "/", "hall");
    await everyone;
    expect(all.map((p) => p.socket.rooms.has("hall"))).toEqual([true, true, true]);
  });

  it("leave: one socket, then every socket of a room", async () => {
    const { handle, admin, ada, bob, cy, all } = await scene();

    const left = nextEvent(admin, "room_left", (nsp, room, id) => room === "lobby" && id === ada.socket.id);
    admin.emit("leave", "/", "lobby", ada.socket.id);
    await left;
    expect([...ada.socket.rooms]).toEqual([ada.socket.id]);
    const logs = all.map((p) => recordEvents(p.client));
    handle.io.to("lobby").emit("lobby-news", 1);
    await barrier(all);
    expect(logs.map((l) => l.length)).toEqual([0, 1, 0]);

    cy.socket.join("lobby");
    const bothLeft = Promise.all(
      [bob, cy].map((p) => nextEvent(admin, "room_left", (nsp, room, id) => room === "lobby" && id === p.socket.id)),
    );
    admin.emit("leave", "/", "lobby", "lobby");
    await bothLeft;
    expect(handle.io.of("/").adapter.rooms.has("lobby")).toBe(false);
  });

  it("_disconnect: one socket, its connection kept; with close, the whole connection", async () => {
    const { handle, admin, ada, bob } = await scene();
    handle.io.of("/side");
    // A client with two namespaces on one connection.
    const manager = createManager(handle, "websocket");
    const main = manager.socket("/", { auth: { user: "dee" } });
    const side = manager.socket("/side");
    main.connect();
    side.connect();
    await Promise.all([waitFor(main, "connect"), waitFor(side, "connect")]);
    const mainId = main.id;

    const gone = nextEvent(admin, "socket_disconnected", (nsp, id) => id === mainId);
    const mainGone = waitFor(main, "disconnect");
    admin.emit("_disconnect", "/", false, mainId);
    expect((await mainGone)[0]).toBe("io server disconnect");
    expect((await gone)[2]).toBe("server namespace disconnect");
    // Only that socket: the connection and its other namespace stay.
    const sideLog = recordEvents(side);
    handle.io.of("/side").emit("still-here");
    await waitFor(side, "still-here");
    expect(sideLog).toEqual([["still-here"]]);
    expect(manager.engine.readyState).toBe("open");

    // close=true: the whole connection goes, with every namespace on it.
    main.connect();
    await waitFor(main, "connect");
    const sideGone = waitFor(side, "disconnect");
    const engineClosed = waitFor(manager.engine, "close");
    admin.emit("_disconnect", "/", true, main.id);
    await engineClosed;
    await sideGone;
    expect(main.connected).toBe(false);
    expect([ada.client.connected, bob.client.connected]).toEqual([true, true]);
  });

  it("_disconnect: every socket of a room", async () => {
    const { admin, ada, bob, cy } = await scene();
    const gone = [ada, bob].map((p) => waitFor(p.client, "disconnect"));
    admin.emit("_disconnect", "/", false, "lobby");
    for (const g of gone) expect((await g)[0]).toBe("io server disconnect");
    await barrier([cy]);
    expect(cy.client.connected).toBe(true);
  });
});

describe("basic authentication", { timeout: 15000 }, () => {
  const username = "admin";
  const password = "changeit";
  // bcrypt, as the admin UI requires; a low cost keeps the test fast.
  const hash = bcrypt.hashSync(password, 4);

  it("refuses to start without an auth option, as the admin UI does", async () => {
    const handle = await createIoServer();
    expect(() => instrument(handle.io, {} as any)).toThrow(/`auth` option must be specified/);
  });

  it("never lets anyone in when the password given to instrument() is not a bcrypt hash", async () => {
    // The admin UI's hash check lets a plain password through; bcrypt then matches nothing.
    const handle = await instrumentedServer({ auth: { type: "basic", username, password } });
    const admin = createClient(handle, "websocket", { auth: { username, password } }, "/admin");
    const [err] = await waitFor(admin, "connect_error", 4000);
    expect(err.message).toBe("invalid credentials");
  });

  it("lets in the right credentials, then the session id they earned", async () => {
    const handle = await instrumentedServer({ auth: { type: "basic", username, password: hash } });
    const session = (() => {
      const admin = createClient(handle, "websocket", { auth: { username, password } }, "/admin");
      return { admin, sessionId: nextEvent(admin, "session"), config: nextEvent(admin, "config") };
    })();
    await waitFor(session.admin, "connect");
    const [sessionId] = await session.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect((await session.config)[0]).toEqual({ supportedFeatures: FEATURES });

    // As the dashboard does after a reload: the session id alone.
    const again = createClient(handle, "websocket", { auth: { sessionId } }, "/admin");
    const config = nextEvent(again, "config");
    const allSockets = nextEvent(again, "all_sockets");
    await waitFor(again, "connect");
    await config;
    expect((await allSockets)[0].map((s: any) => s.id)).toEqual(expect.arrayContaining([session.admin.id, again.id]));
  });

  it.each([
    ["a wrong password", { username, password: "guess" }],
    ["a wrong username", { username: "root", password }],
    ["an unknown session id", { sessionId: "0123456789abcdef" }],
    ["no credentials", undefined],
  ])("refuses %s with connect_error 'invalid credentials'", async (_what, auth) => {
    const handle = await instrumentedServer({ auth: { type: "basic", username, password: hash } });
    const admin = createClient(handle, "websocket", auth ? { auth } : {}, "/admin");
    const log = recordEvents(admin);
    const [err] = await waitFor(admin, "connect_error", 4000);
    expect(err.message).toBe("invalid credentials");
    expect(admin.connected).toBe(false);
    expect(log).toEqual([]);
    // The app's own namespace needs no admin credentials.
    const app = await connectClient(handle, "websocket", { auth: { user: "zoe" } });
    expect(app.connected).toBe(true);
  });
});
