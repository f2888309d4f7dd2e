/**
 * Handing a client's TCP connection to another process of the machine
 * (node:cluster workers): the receiving worker stops reading the socket and
 * sends its libuv handle, with the bytes of the request it already read,
 * over the cluster IPC (through the primary) to the owner of the session,
 * which feeds the connection to its own http server. The owner answers the
 * client directly, and the connection (with HTTP keep-alive) stays with it:
 * later requests on it for the owner's sessions are local, and a request
 * for another worker's session is handed on again.
 *
 * Only plain TCP HTTP/1 connections can move: a TLS session or an HTTP/2
 * connection lives in the process that accepted it (those are relayed, see
 * origin.ts). A connection with a second request already waiting behind
 * the first (pipelining) is relayed too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";

/** The libuv stream of a net.Socket, as child_process sends it. */
interface StreamHandle {
  readStop(): number;
  readStart(): number;
}

function handleOf(socket: unknown): StreamHandle | null {
  if (!(socket instanceof Socket) || (socket as Socket & { encrypted?: boolean }).encrypted) return null;
  // net.Socket keeps its handle here; child_process.send() takes the same object.
  const handle = (socket as Socket & { _handle?: unknown })._handle as StreamHandle | null | undefined;
  return handle && typeof handle.readStop === "function" ? handle : null;
}

/** Whether `req`'s connection can be handed over once its body is read. */
export function canHandOverRequest(req: IncomingMessage, res: ServerResponse): boolean {
  // res.socket is null while an earlier response on the connection is still pending (pipelining).
  return req.httpVersionMajor === 1 && res.socket === req.socket && handleOf(req.socket) !== null;
}

/** Whether the connection of an upgrade request can be handed over. */
export function canHandOverUpgrade(req: IncomingMessage, socket: Duplex): boolean {
  return req.httpVersionMajor === 1 && handleOf(socket) !== null;
}

/**
 * Stops reading `socket` and returns its handle with whatever the socket had
 * already buffered (an upgraded socket is read into its own buffer), or
 * null when the connection is gone.
 */
export function detach(socket: Duplex): { handle: StreamHandle; buffered: Buffer[] } | null {
  const handle = handleOf(socket);
  if (handle === null || socket.destroyed) return null;
  const buffered: Buffer[] = [];
  // Drained first: reading may ask the handle for more, which readStop() then ends.
  while (socket.readableLength > 0) {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) break;
    buffered.push(chunk);
  }
  handle.readStop();
  return { handle, buffered };
}

/** Reading again after a handover failed: the connection stays here. */
export function reattach(socket: Duplex): void {
  const handle = handleOf(socket);
  if (handle !== null && !socket.destroyed) handle.readStart();
}

/**
 * Takes a connection another worker handed over: wraps the handle in a
 * net.Socket, gives it to `server` as a new connection and replays the
 * request bytes, which its http server then parses as if they had just
 * arrived.
 */
export function adopt(handle: unknown, bytes: Buffer, server: EventEmitter): Socket {
  const socket = new Socket({ handle, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
  server.emit("connection", socket);
  socket.unshift(bytes);
  return socket;
}

/** Closes this process's copy of a handed-over connection nobody here can serve. */
export function discardHandle(handle: unknown): void {
  new Socket({ handle } as ConstructorParameters<typeof Socket>[0]).destroy();
}
