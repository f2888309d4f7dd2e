/**
 * What nodes of a cluster say to each other: socket.io-adapter's cluster
 * protocol (message types 1..13 in an envelope `{uid, nsp, type, data}`,
 * the format of @socket.io/cluster-adapter, @socket.io/redis-streams-adapter
 * and the sharded Redis adapter), tidewire's two extra request types (for
 * transports whose wire has them), and the checks everything received passes
 * before it is acted on.
 */
import { randomBytes } from "node:crypto";
import type { AdapterPacket, AdapterSocket, BroadcastFlags, BroadcastOptions, Room } from "../types.js";

/** A random node id: `bytes` random bytes as hex. */
export function nodeId(bytes = 8): string {
  return randomBytes(bytes).toString("hex");
}

/** The uid of messages published by an emitter (a process without a server): never a member node. */
export const EMITTER_UID = "emitter";

export const MessageType = {
  INITIAL_HEARTBEAT: 1,
  HEARTBEAT: 2,
  BROADCAST: 3,
  SOCKETS_JOIN: 4,
  SOCKETS_LEAVE: 5,
  DISCONNECT_SOCKETS: 6,
  FETCH_SOCKETS: 7,
  FETCH_SOCKETS_RESPONSE: 8,
  SERVER_SIDE_EMIT: 9,
  SERVER_SIDE_EMIT_RESPONSE: 10,
  BROADCAST_CLIENT_COUNT: 11,
  BROADCAST_ACK: 12,
  ADAPTER_CLOSE: 13,
  // tidewire: requests of @socket.io/redis-adapter's classic protocol that
  // socket.io-adapter's cluster protocol lacks. Only transports declaring
  // `extendedRequests` carry them; others answer allRooms()/sockets() locally.
  ALL_ROOMS: 101,
  ALL_ROOMS_RESPONSE: 102,
  SOCKETS: 103,
  SOCKETS_RESPONSE: 104,
} as const;

/** Response types: they go to one node (the requester), never to all. */
export const RESPONSE_TYPES: ReadonlySet<number> = new Set<number>([
  MessageType.FETCH_SOCKETS_RESPONSE,
  MessageType.SERVER_SIDE_EMIT_RESPONSE,
  MessageType.BROADCAST_CLIENT_COUNT,
  MessageType.BROADCAST_ACK,
  MessageType.ALL_ROOMS_RESPONSE,
  MessageType.SOCKETS_RESPONSE,
]);

/** The envelope of every cluster message and response. */
export interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: any;
  /**
   * tidewire: the sender's trace context (W3C `traceparent`/`tracestate`),
   * when an observer follows it (see context.ts). Official adapters ignore
   * the field; codecs whose wire has no room for it drop it.
   */
  trace?: Record<string, string>;
}

// ---- what arrives from the wire ------------------------------------------

export function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isRoom = (r: unknown): r is Room => typeof r === "string" || typeof r === "number";

/** Room lists on the wire: arrays of strings (numbers accepted, as socket.io allows them). */
export function isRoomList(value: unknown): value is Room[] {
  return Array.isArray(value) && value.every(isRoom);
}

/** `{rooms, except, flags}` from the wire as BroadcastOptions, or null when malformed. */
export function toBroadcastOptions(raw: unknown): BroadcastOptions | null {
  if (!isObject(raw) || !isRoomList(raw.rooms)) return null;
  if (raw.except !== undefined && !isRoomList(raw.except)) return null;
  if (raw.flags !== undefined && raw.flags !== null && !isObject(raw.flags)) return null;
  const flags: BroadcastFlags = {};
  const f = raw.flags ?? {};
  if (typeof f.volatile === "boolean") flags.volatile = f.volatile;
  if (typeof f.compress === "boolean") flags.compress = f.compress;
  if (typeof f.timeout === "number" && f.timeout >= 0 && f.timeout < 2 ** 31) flags.timeout = f.timeout;
  if (f.expectSingleResponse === true) flags.expectSingleResponse = true;
  return { rooms: new Set(raw.rooms), except: new Set(raw.except ?? []), flags };
}

/** The wire form of BroadcastOptions. */
export function fromBroadcastOptions(opts: BroadcastOptions): { rooms: Room[]; except: Room[]; flags?: BroadcastFlags } {
  return { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: opts.flags };
}

// Names a client refuses to receive as events (its parser rejects them).
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/**
 * Whether a packet from another node may go to clients: an event without
 * ack id whose data is `[name, ...args]` with a name clients accept.
 */
export function isBroadcastablePacket(packet: unknown): packet is AdapterPacket & { data: unknown[] } {
  if (!isObject(packet) || (packet.type !== 2 && packet.type !== 5)) return false;
  if ((packet.nsp !== undefined && typeof packet.nsp !== "string") || packet.id !== undefined) return false;
  const data = packet.data;
  if (!Array.isArray(data) || data.length === 0) return false;
  return typeof data[0] === "number" || (typeof data[0] === "string" && !RESERVED.has(data[0]));
}

/**
 * Whether a broadcast gets a recovery offset (socket.io's rule): an EVENT
 * without ack, not volatile. Acks cannot be restored on another node.
 */
export function isRecoverable(packet: AdapterPacket, opts: { flags?: BroadcastFlags }): boolean {
  return packet.type === 2 && packet.id === undefined && opts.flags?.volatile === undefined && Array.isArray(packet.data);
}

/** Server-side event data: `[name, ...args]` with a string name. */
export function isServerSideEvent(data: unknown): data is [string, ...unknown[]] {
  return Array.isArray(data) && data.length > 0 && typeof data[0] === "string";
}

/** A socket as another node describes it in a fetchSockets answer. */
export interface SocketDetails {
  id: string;
  handshake: Record<string, any>;
  rooms: Room[];
  data: unknown;
}

export function isSocketDetails(value: unknown): value is SocketDetails {
  return isObject(value) && typeof value.id === "string" && isObject(value.handshake) && isRoomList(value.rooms);
}

/** How a local socket is described to other nodes (the handshake without `sessionStore`, as the reference does). */
export function describeSocket(socket: AdapterSocket, rooms: Set<Room> | undefined): SocketDetails {
  const { sessionStore: _omitted, ...handshake } = socket.handshake ?? {};
  return { id: socket.id, handshake, rooms: rooms ? [...rooms] : [], data: socket.data };
}

/**
 * Runs an application listener outside the transport's callback: an
 * exception it throws surfaces as any listener exception would, without
 * leaving the Redis client (or other transport) mid-dispatch.
 */
export function runListener(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
