/**
 * Module surface: the CommonJS entry is callable (`require("socket.io")(srv)`)
 * and carries the classes; the ESM entry exports the classes the objects are
 * instances of.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { againstReference, BroadcastOperator, Namespace, Server, Socket } from "../../helpers/impl.js";
import { closeAll, connectClient, connectPair, createIoServer, listen, MODES, trackIo, waitFor } from "../../helpers/io.js";

const require = createRequire(import.meta.url);

/** socket.io's own entry, or tidewire's built CommonJS bundle (built by `npm test`'s pretest). */
function loadCommonJsEntry(): any {
  return againstReference ? require("socket.io") : require("../../../dist/cjs.cjs");
}

afterEach(closeAll);

describe("CommonJS entry", { timeout: 10000 }, () => {
  it("is a function returning a Server and carries the classes", () => {
    const entry = loadCommonJsEntry();
    expect(typeof entry).toBe("function");
    for (const name of ["Server", "Namespace", "Socket"]) expect(typeof entry[name]).toBe("function");
    if (!againstReference) {
      // tidewire also exposes these two (socket.io only exports them as types)
      expect(typeof entry.BroadcastOperator).toBe("function");
      expect(typeof entry.RemoteSocket).toBe("function");
    }
  });

  it.each(MODES)("require(...)(httpServer, opts) serves clients (%s)", async (mode) => {
    const entry = loadCommonJsEntry();
    const httpServer = createServer();
    const io = entry(httpServer, { pingInterval: 5000 });
    trackIo(io, httpServer);
    expect(io).toBeInstanceOf(entry.Server);
    const port = await listen(httpServer);
    const connection = waitFor(io, "connection");
    const client = await connectClient(`http://127.0.0.1:${port}`, mode);
    const [socket] = await connection;
    expect(socket).toBeInstanceOf(entry.Socket);
    expect(io.sockets).toBeInstanceOf(entry.Namespace);
    socket.emit("hello", "cjs");
    expect(await waitFor(client, "hello")).toEqual(["cjs"]);
  });
});

describe("ESM entry", { timeout: 10000 }, () => {
  it("exports the classes of the objects it creates", async () => {
    const handle = await createIoServer();
    const { socket } = await connectPair(handle, "websocket");
    expect(handle.io).toBeInstanceOf(Server);
    expect(handle.io.sockets).toBeInstanceOf(Namespace);
    expect(handle.io.of("/x")).toBeInstanceOf(Namespace);
    expect(socket).toBeInstanceOf(Socket);
    expect(handle.io.to("room")).toBeInstanceOf(BroadcastOperator);
    expect(socket.broadcast).toBeInstanceOf(BroadcastOperator);
    const [fetched] = await handle.io.fetchSockets();
    expect(fetched.id).toBe(socket.id);
  });
});
