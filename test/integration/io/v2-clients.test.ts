import { afterEach, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { format } from "node:util";
import createDebug from "debug";
import { closeAll, createIoServer, onClose, rawRequest, waitFor, type IoServerHandle } from "../../helpers/io.js";
import { againstReference } from "../../helpers/impl.js";

// The real socket.io-client 2.x package (Engine.IO v3, Socket.IO protocol v4).
const require = createRequire(import.meta.url);
const ioV2: (url: string, opts?: Record<string, unknown>) => any = require("socket.io-client-v2");

type V2Mode = "polling" | "websocket" | "upgrade";
const V2_MODES: V2Mode[] = ["polling", "websocket", "upgrade"];

function v2Client(handle: IoServerHandle, mode: V2Mode, nsp = "/", opts: Record<string, unknown> = {}): any {
  const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
  const socket = ioV2(handle.url + (nsp === "/" ? "" : nsp), {
    transports,
    forceNew: true,
    reconnection: false,
    ...opts,
  });
  onClose(() => socket.close());
  return socket;
}

async function connected(socket: any): Promise<void> {
  if (socket.connected) return;
  await Promise.race([
    waitFor(socket, "connect", 4000),
    waitFor(socket, "error", 4000).then(([err]) => {
      throw new Error(`v2 client error: ${typeof err === "string" ? err : JSON.stringify(err)}`);
    }),
  ]);
}

describe.each(V2_MODES)("socket.io-client v2 with allowEIO3 (%s)", (mode) => {
  afterEach(closeAll);

  it("connects to the main namespace and exchanges events with acks", async () => {
    const handle = await createIoServer({ allowEIO3: true });
    handle.io.on("connection", (socket) => {
      socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value));
      socket.emit("welcome", { hello: "v2" });
    });
    const client = v2Client(handle, mode);
    const [welcome] = await waitFor(client, "welcome", 4000);
    expect(welcome).toEqual({ hello: "v2" });
    const answer = await new Promise((resolve) => client.emit("echo", { n: [1, 2, 3] }, resolve));
    expect(answer).toEqual({ n: [1, 2, 3] });
    if (mode === "upgrade") {
      if (client.io.engine.transport.name !== "websocket") await waitFor(client.io.engine, "upgrade", 4000);
      const again = await new Promise((resolve) => client.emit("echo", "after upgrade", resolve));
      expect(again).toBe("after upgrade");
    }
  });

  it("binary travels both ways, nested in objects", async () => {
    const handle = await createIoServer({ allowEIO3: true });
    handle.io.on("connection", (socket) => {
      socket.on("upload", (payload: { name: string; data: Buffer }, ack: (v: unknown) => void) => {
        ack({ name: payload.name, size: payload.data.length, reversed: Buffer.from(payload.data).reverse() });
      });
    });
    const client = v2Client(handle, mode);
    await connected(client);
    const answer: any = await new Promise((resolve) =>
      client.emit("upload", { name: "f", data: Buffer.from([1, 2, 3, 4]) }, resolve),
    );
    expect(answer.name).toBe("f");
    expect(answer.size).toBe(4);
    expect([...Buffer.from(answer.reversed)]).toEqual([4, 3, 2, 1]);
  });

  it("joins a custom namespace with its query as auth, and middleware errors reach the client", async () => {
    const handle = await createIoServer({ allowEIO3: true });
    const admin = handle.io.of("/admin");
    admin.use((socket, next) => {
      if (socket.handshake.auth.token === "good") return next();
      const err: any = new Error("not authorized");
      err.data = { reason: "bad token" };
      next(err);
    });
    const seen = waitFor(admin, "connection", 4000);
    const ok = v2Client(handle, mode, "/admin", { query: { token: "good" } });
    await connected(ok);
    const [socket] = await seen;
    expect(socket.handshake.auth).toEqual({ token: "good" });
    expect(socket.id).toBe(`/admin#${socket.conn.id}`);

    const refused = v2Client(handle, mode, "/admin", { query: { token: "bad" } });
    const [err] = await waitFor(refused, "error", 4000);
    expect(err).toEqual({ reason: "bad token" });
  });

  it("the socket id on the main namespace is the engine id", async () => {
    const handle = await createIoServer({ allowEIO3: true });
    const seen = waitFor(handle.io, "connection", 4000);
    const client = v2Client(handle, mode);
    await connected(client);
    const [socket] = await seen;
    expect(socket.id).toBe(socket.conn.id);
    expect(client.id).toBe(socket.id);
  });
});

describe("socket.io-client v2 without allowEIO3", () => {
  afterEach(closeAll);

  it("is refused with the reference error", async () => {
    const handle = await createIoServer();
    let connections = 0;
    handle.io.on("connection", () => connections++);
    const client = v2Client(handle, "polling");
    const [err] = await waitFor(client, "connect_error", 4000);
    expect(String(err?.message ?? err)).toMatch(/xhr poll error|400/);
    const res = await fetch(`${handle.url}/socket.io/?EIO=3&transport=polling`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 5, message: "Unsupported protocol version" });
    expect(connections).toBe(0);
  });

  it.skipIf(againstReference).each(["polling", "websocket"] as const)(
    "over %s, the server says to enable allowEIO3: in connection_error's context and in the debug line; the client's answer is engine.io's",
    async (mode) => {
      const handle = await createIoServer();
      const lines: string[] = [];
      const previousNamespaces = createDebug.disable();
      const previousLog = createDebug.log;
      createDebug.enable("tidewire:engine:server");
      createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
      onClose(() => {
        createDebug.log = previousLog;
        createDebug.enable(previousNamespaces);
      });
      const refused = waitFor(handle.io.engine, "connection_error", 4000);
      const client = v2Client(handle, mode);
      const [err] = await refused;
      expect(err.code).toBe(5);
      expect(err.message).toBe("Unsupported protocol version");
      expect(err.context.protocol).toBe(3);
      expect(err.context.hint).toMatch(/socket\.io-client v2.*allowEIO3: true/);
      await waitFor(client, "connect_error", 4000);
      expect(lines.some((l) => l.includes("Unsupported protocol version") && l.includes("allowEIO3: true"))).toBe(true);
      const res = await rawRequest(`${handle.url}/socket.io/?EIO=3&transport=polling`);
      expect(res.status).toBe(400);
      expect(res.body.toString()).toBe('{"code":5,"message":"Unsupported protocol version"}');
    },
  );
});
