import { EventEmitter } from "node:events";
import { rethrowLater } from "../core/rethrow.js";
import { RECOVERABLE_DISCONNECT_REASONS, type DisconnectReason } from "./disconnect-reason.js";
import { PacketType } from "./protocol/packet.js";
import { NO_FLAGS } from "./socket-emit.js";
import type { Socket, SocketReservedEventsMap } from "./socket.js";
import { causeOf, withCause, type CauseRequest, type DisconnectCause } from "../observe/causes.js";
import { FACT_DISCONNECT, facts } from "../observe/facts.js";

/** How a socket leaves its namespace: the DISCONNECT packet, the cause, the session saved for recovery, the events. */

type AnySocket = Socket<any, any, any, any>;

export const NAMESPACE_DISCONNECT: CauseRequest = Object.freeze({ code: "namespace_disconnect" });
export const CLIENT_NAMESPACE_DISCONNECT: CauseRequest = Object.freeze({ code: "client_namespace_disconnect" });

/** A cause for a reason that came without one (an adapter or application calling onClose itself). */
const CAUSE_OF_REASON: Readonly<Record<string, CauseRequest["code"]>> = {
  "server shutting down": "server_close",
  "forced server close": "server_disconnect",
  "forced close": "server_disconnect",
  "server namespace disconnect": "namespace_disconnect",
  "client namespace disconnect": "client_namespace_disconnect",
  "ping timeout": "ping_timeout",
  "transport close": "client_closed",
  "transport error": "transport_error",
  "parse error": "parse_error",
  "buffer overflow": "buffer_overflow",
};

/**
 * Emits a reserved event to the socket's own listeners (as its
 * `emitReserved`); a listener's exception is raised again later, the caller
 * goes on.
 */
export function emitSafely(socket: AnySocket, ev: keyof SocketReservedEventsMap, ...args: unknown[]): void {
  try {
    EventEmitter.prototype.emit.call(socket, ev, ...args);
  } catch (err) {
    rethrowLater(err);
  }
}

/** Leaves the namespace ("server namespace disconnect") for `cause`: the client gets a DISCONNECT packet. */
export function disconnectSocket(socket: AnySocket, cause: CauseRequest): void {
  if (!socket.connected) return;
  socket.client.sendPacket({ type: PacketType.DISCONNECT, nsp: socket.nsp.name }, NO_FLAGS, socket);
  socket.onClose("server namespace disconnect", withCause(undefined, { ...cause, transport: socket.client.conn.transport.name }));
}

/**
 * Ends `socket` (see Socket#onClose). Returns what the adapter's
 * persistSession() returned.
 */
export function closeSocket(socket: AnySocket, reason: DisconnectReason, description: unknown): unknown {
  if (!socket.connected) return undefined;
  let cause = causeOf(description);
  if (cause === undefined) {
    cause = { code: CAUSE_OF_REASON[reason] ?? "server_disconnect", transport: socket.client.conn.transport.name };
    description = withCause(description, cause);
  }
  socket.nsp.counters.disconnects[cause.code][cause.transport]++;
  // A throwing listener must not leave the socket half closed (in its rooms, still "connected").
  emitSafely(socket, "disconnecting", reason, description);
  let persisted: unknown;
  if (socket.pid !== undefined && RECOVERABLE_DISCONNECT_REASONS.has(reason)) {
    persisted = socket.adapter.persistSession({ sid: socket.id, pid: socket.pid, rooms: [...socket.rooms], data: socket.data });
  }
  socket.cleanup();
  socket.client.removeSocket(socket);
  socket.connected = false;
  if ((facts.mask & FACT_DISCONNECT) !== 0) {
    facts.disconnect({ socket, namespace: socket.nsp.name, reason, cause: cause as DisconnectCause });
  }
  emitSafely(socket, "disconnect", reason, description);
  return persisted;
}
