/**
 * Class 11: handshake floods without follow-up, thousands of distinct
 * namespace names, and path traversal on the client-bundle route.
 * Reference outcome: half-open sessions expire after pingInterval +
 * pingTimeout ("ping timeout"); unknown namespaces get "Invalid namespace"
 * and leave nothing behind; dynamic children are removed when they empty
 * with cleanupEmptyChildNamespaces; only the eight bundle file names are
 * ever served, anything else under the path is Engine.IO's (400 code 0).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ParentNamespace } from "../../src/index.js";
import {
  Canary,
  closeAll,
  echoServer,
  expectNoLeak,
  fetchText,
  pollingHandshake,
  RawWebSocket,
  withTimeout,
  type IoServerHandle,
} from "./helpers.js";

afterEach(closeAll);

// Short enough to expire the flood quickly, long enough for the canary to answer on a busy machine.
const SHORT_HEARTBEAT = { pingInterval: 250, pingTimeout: 1500 };

/** Resolves once `n` engine sessions opened after this call have closed; with their reasons. */
function sessionsClosing(handle: IoServerHandle, n: number, timeoutMs = 10000): Promise<string[]> {
  const reasons: string[] = [];
  return withTimeout(
    new Promise((resolve) => {
      const onConnection = (conn: any) =>
        conn.once("close", (reason: string) => {
          reasons.push(reason);
          if (reasons.length === n) {
            handle.io.engine.off("connection", onConnection);
            resolve(reasons);
          }
        });
      handle.io.engine.on("connection", onConnection);
    }),
    timeoutMs,
    `${n} sessions closing`,
  );
}

async function inBatches(total: number, size: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < total; i += size) {
    await Promise.all(Array.from({ length: Math.min(size, total - i) }, (_, k) => fn(i + k)));
  }
}

describe("hostile: floods", () => {
  it("500 polling and 200 WebSocket handshakes without follow-up all expire with 'ping timeout'", async () => {
    // A pingTimeout long enough for all 700 handshakes to be open at once on a loaded machine.
    const handle = await echoServer({ pingInterval: 250, pingTimeout: 4000 });
    const canary = await Canary.connect(handle);
    const closing = sessionsClosing(handle, 700, 15000);
    await canary.during(async () => {
      await inBatches(500, 50, () => pollingHandshake(handle.port));
      await inBatches(200, 50, async () => {
        const ws = await RawWebSocket.open(handle.port);
        await ws.next();
      });
      expect(handle.io.engine.clientsCount).toBe(701);
      const reasons = await closing;
      expect(new Set(reasons)).toEqual(new Set(["ping timeout"]));
    });
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("without CONNECT, a session is closed after connectTimeout even if it answers pings", async () => {
    const handle = await echoServer({ connectTimeout: 200 });
    const canary = await Canary.connect(handle);
    const closing = sessionsClosing(handle, 50);
    await canary.during(async () => {
      await inBatches(50, 25, async () => {
        const ws = await RawWebSocket.open(handle.port);
        await ws.next();
      });
      await closing;
    });
    expect(handle.io.engine.clientsCount).toBe(1);
  });

  it("5,000 unknown namespace names: 'Invalid namespace' each, nothing registered", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const before = [...handle.io._nsps.keys()];
    await canary.during(async () => {
      const ws = await RawWebSocket.open(handle.port);
      await ws.next();
      for (let i = 0; i < 5000; i++) ws.sendText(`40/unknown-${i},`);
      for (let i = 0; i < 5000; i++) expect(await ws.nextMessage()).toBe(`44/unknown-${i},{"message":"Invalid namespace"}`);
    });
    expect([...handle.io._nsps.keys()]).toEqual(before);
  });

  it("2,000 dynamic namespaces are removed when they empty (cleanupEmptyChildNamespaces)", async () => {
    const handle = await echoServer({ cleanupEmptyChildNamespaces: true });
    const parent = handle.io.of(/^\/dyn-\d+$/) as ParentNamespace;
    parent.use((socket, next) => next(socket.nsp.name.endsWith("7") ? new Error("refused") : undefined));
    const canary = await Canary.connect(handle);
    const before = handle.io._nsps.size;
    await canary.during(async () => {
      const ws = await RawWebSocket.open(handle.port);
      await ws.next();
      for (let i = 0; i < 2000; i++) ws.sendText(`40/dyn-${i},`);
      for (let i = 0; i < 2000; i++) {
        const reply = (await ws.nextMessage()) as string;
        expect(reply.startsWith(i % 10 === 7 ? `44/dyn-${i},` : `40/dyn-${i},{"sid"`)).toBe(true);
      }
      expect(handle.io._nsps.size).toBe(before + 1800);
      expect(parent.children.size).toBe(1800);
      ws.reset();
      await ws.closed;
      while (handle.io._nsps.size > before) await new Promise((resolve) => setImmediate(resolve));
    });
    expect(parent.children.size).toBe(0);
  });

  it("path traversal on the client-bundle route never serves anything but the bundles", async () => {
    const handle = await echoServer();
    const canary = await Canary.connect(handle);
    const require = createRequire(import.meta.url);
    const bundle = readFileSync(join(dirname(require.resolve("socket.io-client/package.json")), "dist", "socket.io.min.js"), "utf8");
    const attempts = [
      "/socket.io/../package.json",
      "/socket.io/..%2f..%2fpackage.json",
      "/socket.io/%2e%2e/%2e%2e/package.json",
      "/socket.io/socket.io.js/../../../../etc/passwd",
      "/socket.io/socket.io.min.js/..%2f..%2f..%2fpackage.json",
      "/socket.io//etc/passwd",
      "/socket.io/socket.io.js%00.map",
      "/socket.io/socket.io.min.js%2F..%2F..%2Fpackage.json",
      "/socket.io/..\\..\\package.json",
      "/socket.io/SOCKET.IO.JS",
      "/socket.io/./socket.io.min.js",
      "/socket.io/socket.io.min.js.map.map",
      "/socket.io/node_modules/socket.io-client/package.json",
      "/socket.io/%252e%252e/package.json",
    ];
    await canary.during(async () => {
      for (const path of attempts) {
        const res = await fetchText(handle.port, path);
        expect(res.status, path).not.toBe(200);
        expect(res.body, path).not.toMatch(/"name":|root:/);
      }
      // The real file, with a query string too.
      const real = await fetchText(handle.port, "/socket.io/socket.io.min.js?../../package.json");
      expect(real.status).toBe(200);
      expect(real.body).toBe(bundle);
    });
  });

  it("leaves nothing behind: expired sessions and emptied namespaces are collected, the heap returns to its baseline", async () => {
    const handle = await echoServer({ ...SHORT_HEARTBEAT, cleanupEmptyChildNamespaces: true });
    handle.io.of(/^\/dyn-\d+$/);
    const canary = await Canary.connect(handle);
    const baseNsps = handle.io._nsps.size;
    await expectNoLeak(
      handle,
      canary,
      async () => {
        const closing = sessionsClosing(handle, 51);
        await inBatches(50, 50, () => pollingHandshake(handle.port));
        const ws = await RawWebSocket.open(handle.port);
        await ws.next();
        for (let i = 0; i < 200; i++) ws.sendText(`40/dyn-${i},`);
        for (let i = 0; i < 200; i++) ws.sendText(`40/unknown-${i},`);
        for (let i = 0; i < 400; i++) await ws.nextMessage();
        ws.reset();
        await closing;
      },
      {
        rounds: 2,
        minTracked: 100,
        settle: async () => {
          while (handle.io._nsps.size > baseNsps) await new Promise((resolve) => setImmediate(resolve));
        },
      },
    );
  });
});
