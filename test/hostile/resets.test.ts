/**
 * Class 1: TCP resets at awkward moments (engine.io CVE-2022-41940): during
 * an upgrade (before and after the 101, before and after the probe), during
 * a pending polling GET or a POST body, while an asynchronous middleware or
 * allowRequest hook holds the request, and before the timer that ends a
 * foreign upgrade request fires. Reference outcome: the affected session
 * ends ("transport error") or the upgrade is dropped and the session goes
 * on polling; no session is created for a handshake whose client left;
 * nothing throws.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  Canary,
  clientFrame,
  closeAll,
  echoServer,
  expectHeapNear,
  fetchText,
  LeakTracker,
  onClose,
  OP,
  pollingHandshake,
  rawHttp,
  RawWebSocket,
  settledHeap,
  SIO_POLLING_PATH,
  SIO_WS_PATH,
  turn,
  upgradeHead,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

/** A TCP connection that writes `text` and can be reset. */
function rawConnection(port: number, text: string): net.Socket {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  onClose(() => {
    socket.destroy();
  });
  socket.write(text);
  return socket;
}

function reset(socket: net.Socket): Promise<void> {
  socket.resetAndDestroy();
  return new Promise((resolve) => (socket.destroyed && socket.closed ? resolve() : socket.once("close", () => resolve())));
}

/** Resolves with the engine session's close reason and description. */
function sessionClosed(handle: IoServerHandle, sid: string): Promise<[string, Error | undefined]> {
  const conn = handle.io.engine.clients[sid];
  if (!conn) throw new Error(`no session ${sid}`);
  return withTimeout(new Promise((resolve) => conn.once("close", (r: string, d?: Error) => resolve([r, d]))), 5000, `session ${sid} closing`);
}

/** An engine middleware that holds every request until `release()`. */
function gate(handle: IoServerHandle) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const held: Array<{ upgrade: boolean; socket: net.Socket }> = [];
  let onHeld: (() => void) | null = null;
  handle.io.engine.use((req: any, _res: unknown, next: () => void) => {
    held.push({ upgrade: req.headers.upgrade !== undefined, socket: req.socket });
    onHeld?.();
    void opened.then(() => next());
  });
  return {
    held,
    /** Resolves once `n` requests are held. */
    async holding(n: number): Promise<void> {
      while (held.length < n) await new Promise<void>((resolve) => (onHeld = resolve));
    },
    release: () => open(),
  };
}

describe("hostile: TCP resets", () => {
  it("a reset during a pending GET or in the middle of a POST body ends that session only", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const sid = await pollingHandshake(handle.port);
      const closed = sessionClosed(handle, sid);
      const seen = new Promise((resolve) => handle.httpServer.once("request", resolve));
      const get = rawConnection(handle.port, `GET ${SIO_POLLING_PATH}&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await seen;
      await reset(get);
      const [reason, description] = await closed;
      expect(reason).toBe("transport error");
      expect(description?.message).toBe("poll connection closed prematurely");

      const sid2 = await pollingHandshake(handle.port);
      const closed2 = sessionClosed(handle, sid2);
      const seen2 = new Promise((resolve) => handle.httpServer.once("request", resolve));
      const post = rawConnection(
        handle.port,
        `POST ${SIO_POLLING_PATH}&sid=${sid2} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n42["half`,
      );
      await seen2;
      await reset(post);
      const [reason2, description2] = await closed2;
      expect(reason2).toBe("transport error");
      expect(description2?.message).toBe("data request connection closed prematurely");
    });
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("a reset at each step of an upgrade drops the upgrade; the session goes on polling", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const steps: Array<[string, (ws: RawWebSocket) => Promise<void>]> = [
      ["right after the 101", async () => {}],
      ["after 2probe, before 3probe is read", async (ws) => ws.sendText("2probe")],
      [
        "after 3probe, before 5",
        async (ws) => {
          ws.sendText("2probe");
          expect(await ws.next()).toBe("3probe");
        },
      ],
      ["in the middle of a frame", async (ws) => ws.send(clientFrame(OP.TEXT, "5").subarray(0, 3))],
    ];
    await canary.during(async () => {
      for (const [, step] of steps) {
        const sid = await pollingHandshake(handle.port);
        const path = `${SIO_POLLING_PATH}&sid=${sid}`;
        const ws = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
        const conn = handle.io.engine.clients[sid]!;
        expect(conn.upgrading).toBe(true);
        await step(ws);
        ws.reset();
        await ws.closed;
        while (conn.upgrading) await turn();
        expect(conn.upgraded).toBe(false);
        expect(conn.readyState).toBe("open");
        expect((await fetchText(handle.port, path, { method: "POST", body: '40\x1e421["echo","polling"]' })).body).toBe("ok");
        expect((await fetchText(handle.port, path)).body).toMatch(/431\["polling"\]$/);
        expect((await fetchText(handle.port, path, { method: "POST", body: "1" })).body).toBe("ok");
      }
    });
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("a reset while a middleware holds a handshake, an upgrade or a refused request leaves no session and no error", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const hold = gate(handle);
    const errors: unknown[] = [];
    handle.io.engine.on("connection_error", (e: unknown) => errors.push(e));
    const before = handle.io.engine.clientsCount;
    await canary.during(async () => {
      const sockets = [
        rawConnection(handle.port, `GET ${SIO_POLLING_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`),
        rawConnection(handle.port, upgradeHead(SIO_WS_PATH) + "\r\n"),
        rawConnection(handle.port, upgradeHead("/socket.io/?EIO=4&transport=__proto__") + "\r\n"),
        rawConnection(handle.port, `GET /socket.io/?EIO=4&transport=bogus HTTP/1.1\r\nHost: x\r\n\r\n`),
        rawConnection(handle.port, upgradeHead("/socket.io/?EIO=3&transport=websocket") + "\r\n"),
      ];
      await hold.holding(sockets.length);
      for (const socket of sockets) await reset(socket);
      // The HTTP server reads plain requests, so it sees those resets; an
      // upgraded socket is not read until it is accepted: the server only
      // learns of the reset when it writes.
      await Promise.all(
        hold.held
          .filter((h) => !h.upgrade)
          .map((h) => withTimeout(new Promise((resolve) => (h.socket.closed ? resolve(null) : h.socket.once("close", resolve))), 5000, "the server seeing a reset")),
      );
      hold.release();
      // Let the released requests run into their dead sockets: a session
      // opened meanwhile (the WebSocket handshake) must end at once.
      await withTimeout(
        (async () => {
          while (handle.io.engine.clientsCount > before || errors.length < 3) await turn();
        })(),
        5000,
        "the released requests to be refused or closed",
      );
    });
    expect(handle.io.engine.clientsCount).toBe(before);
    expect(errors).toHaveLength(3);
  });

  it("a reset before allowRequest answers an asynchronous WebSocket handshake leaves no session", async () => {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let asked!: () => void;
    const asking = new Promise<void>((resolve) => (asked = resolve));
    const handle = await echoServer({
      allowRequest: (req, cb) => {
        if (req.headers["x-attacker"]) {
          asked();
          void answered.then(() => cb(null, true));
        } else cb(null, true);
      },
    });
    const canary = await Canary.connect(handle);
    const sessions: string[] = [];
    handle.io.engine.on("connection", (conn: { id: string }) => sessions.push(conn.id));
    await canary.during(async () => {
      const socket = rawConnection(handle.port, upgradeHead(SIO_WS_PATH, "X-Attacker: 1\r\n") + "\r\n");
      await asking;
      await reset(socket);
      answer();
      for (let i = 0; i < 10; i++) await turn();
    });
    // Either no session was opened, or it ended at once.
    for (const id of sessions) expect(handle.io.engine.clients[id]).toBeUndefined();
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("a reset before the timer that ends a foreign upgrade fires is harmless", async () => {
    const handle = await echoServer({ destroyUpgradeTimeout: 50 });
    const canary = await Canary.connect(handle);
    await canary.during(async () => {
      const seen = new Promise((resolve) => handle.httpServer.once("upgrade", resolve));
      const foreign = rawConnection(handle.port, upgradeHead("/elsewhere") + "\r\n");
      await seen;
      await reset(foreign);
      // A second one, not reset, armed later: once the server ended it, the first timer has fired too.
      const witness = await rawHttp(handle.port, upgradeHead("/elsewhere") + "\r\n", 5000);
      expect(witness.text).toBe("");
    });
  });

  it("leaves nothing behind: sessions are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const attack = async () => {
      const sid = await pollingHandshake(handle.port);
      const closed = sessionClosed(handle, sid);
      const seen = new Promise((resolve) => handle.httpServer.once("request", resolve));
      const get = rawConnection(handle.port, `GET ${SIO_POLLING_PATH}&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await seen;
      await reset(get);
      await closed;
      const sid2 = await pollingHandshake(handle.port);
      const closed2 = sessionClosed(handle, sid2);
      const ws = await RawWebSocket.open(handle.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid2}`);
      ws.sendText("2probe");
      await ws.next();
      ws.reset();
      await ws.closed;
      expect((await fetchText(handle.port, `${SIO_POLLING_PATH}&sid=${sid2}`, { method: "POST", body: "1" })).body).toBe("ok");
      await closed2;
      const direct = await RawWebSocket.socketIo(handle.port);
      direct.reset();
      await direct.closed;
    };
    await attack();
    const baseline = await settledHeap();
    const tracker = new LeakTracker(handle);
    await canary.during(async () => {
      for (let i = 0; i < 5; i++) await attack();
    });
    while (handle.io.engine.clientsCount > 1) await turn();
    await tracker.expectCollected();
    await expectHeapNear(baseline);
  });
});
