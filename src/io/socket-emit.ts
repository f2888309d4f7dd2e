import { logger } from "../core/debug.js";
import type { BroadcastFlags } from "../adapter/types.js";
import { PacketType, type Packet } from "./protocol/packet.js";
import { registerAck } from "./socket-acks.js";
import { endScope, type Scope } from "../observe/facts.js";
import type { Socket } from "./socket.js";

/** What a socket sends to its client: the EVENTs of its emits, its ack replies and its CONNECT reply. */

// Same namespace as the socket's: these messages were always logged under it.
const log = logger("io", "socket");

/** No per-emit flags. Frozen and shared; a socket replaces it before setting a flag. */
export const NO_FLAGS: Readonly<BroadcastFlags> = Object.freeze({});

type AnySocket = Socket<any, any, any, any>;

/**
 * Sends `[event, ...args]` (a trailing function is the ack callback) with
 * this emit's flags. Returns true, as EventEmitter#emit does.
 */
export function sendEvent(socket: AnySocket, data: any[], flags: BroadcastFlags): boolean {
  const packet: Packet = { type: PacketType.EVENT, nsp: socket.nsp.name, data };
  if (typeof data[data.length - 1] === "function") {
    const id = socket.nsp._ids++;
    registerAck(socket, id, data.pop(), flags.timeout);
    packet.id = id;
  }
  if (socket.pid !== undefined) {
    // With recovery, direct emits are logged like broadcasts so they get an offset.
    socket.adapter.broadcast(packet, { rooms: new Set([socket.id]), except: new Set(), flags });
    return true;
  }
  socket.notifyOutgoingListeners(packet);
  socket.client.sendPacket(packet, flags, socket);
  return true;
}

/** A once-only function that answers the client's event `id`. */
export function ackResponder(socket: AnySocket, id: number, scope?: Scope): (...args: any[]) => void {
  let sent = false;
  // A drain waits for these before it closes the connection.
  socket.client.repliesDue++;
  return (...args: any[]) => {
    if (sent) return;
    sent = true;
    socket.client.repliesDue--;
    if (scope !== undefined) endScope(scope);
    if (log.enabled) log("sending ack %d", id);
    socket.client.sendPacket({ type: PacketType.ACK, nsp: socket.nsp.name, id, data: args }, NO_FLAGS, socket);
  };
}

/** The CONNECT reply: without data for Engine.IO protocol 3 (v2) clients, `{sid, pid?}` otherwise. */
export function sendConnectReply(socket: AnySocket): void {
  const conn = socket.client.conn;
  if (conn.protocol === 3) {
    socket.client.sendPacket({ type: PacketType.CONNECT, nsp: socket.nsp.name }, NO_FLAGS, socket);
  } else {
    const data: { sid: string; pid?: string } = { sid: socket.id };
    if (socket.pid) data.pid = socket.pid;
    socket.client.sendPacket({ type: PacketType.CONNECT, nsp: socket.nsp.name, data }, NO_FLAGS, socket);
  }
  // On WebSocket the CONNECT reply leaves in a write of its own, before the "connection"
  // handlers run, as with socket.io: a client that reads one message and only then waits
  // for the next (the socket.io-protocol test suite does) must not get both in one read.
  if (conn.transport.name === "websocket") conn.flushNow();
}
