/**
 * Socket.IO protocol v5 packets: the types, the packet shape, and the
 * validity rules shared by the encoder, the decoder and custom parsers.
 */

/** Packet types; the digit is the first character of an encoded packet. */
export enum PacketType {
  CONNECT = 0,
  DISCONNECT = 1,
  EVENT = 2,
  ACK = 3,
  CONNECT_ERROR = 4,
  BINARY_EVENT = 5,
  BINARY_ACK = 6,
}

/** One Socket.IO packet, as handed to an encoder or emitted by a decoder. */
export interface Packet {
  type: PacketType;
  /** Namespace name, starting with `/`. */
  nsp: string;
  /** The payload: auth/handshake object, `[event, ...args]`, ack arguments, or an error. */
  data?: any;
  /** Ack id: an EVENT that asks for an acknowledgement, or the ACK answering it. */
  id?: number;
  /** Number of binary attachments (BINARY_EVENT / BINARY_ACK on the wire only). */
  attachments?: number;
}

/**
 * Event names that must not travel in an EVENT packet: the client library
 * and Node's EventEmitter give them a meaning of their own.
 */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

const toStringTag = Object.prototype.toString;

/** A plain object in the sense of the reference parser (not an array, not null, not a Date...). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && toStringTag.call(value) === "[object Object]"
  );
}

/** An EVENT payload: an array whose first element is a number or a non-reserved string. */
export function isEventPayload(data: unknown): data is unknown[] {
  if (!Array.isArray(data)) return false;
  const name = data[0];
  return typeof name === "number" || (typeof name === "string" && !RESERVED_EVENTS.has(name));
}

/**
 * Payload rule for a packet that carries a payload (protocol §9 rule 5).
 * A packet without any payload is accepted by the decoder for every type;
 * this function is only asked about payloads that are present.
 */
export function isPayloadValid(type: PacketType, payload: unknown): boolean {
  switch (type) {
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT:
      return isEventPayload(payload);
    case PacketType.ACK:
    case PacketType.BINARY_ACK:
      return Array.isArray(payload);
    case PacketType.CONNECT:
      return isPlainObject(payload);
    case PacketType.DISCONNECT:
      return payload === undefined;
    case PacketType.CONNECT_ERROR:
      return typeof payload === "string" || isPlainObject(payload);
    default:
      return false;
  }
}

/**
 * Whether a decoded packet is well formed: namespace a string, ack id absent
 * or an integer, data valid for its type. For custom parsers, which produce
 * packets without going through tidewire's decoder. As in socket.io-parser,
 * only the decoded types 0-4 are valid here (binary packets are delivered as
 * EVENT / ACK once their attachments are in place) and CONNECT may omit data.
 */
export function isPacketValid(packet: Packet): boolean {
  if (typeof packet !== "object" || packet === null) return false;
  if (typeof packet.nsp !== "string") return false;
  if (packet.id !== undefined && !Number.isInteger(packet.id)) return false;
  const { type, data } = packet;
  switch (type) {
    case PacketType.CONNECT:
      return data === undefined || isPlainObject(data);
    case PacketType.DISCONNECT:
      return data === undefined;
    case PacketType.EVENT:
      return isEventPayload(data);
    case PacketType.ACK:
      return Array.isArray(data);
    case PacketType.CONNECT_ERROR:
      return typeof data === "string" || isPlainObject(data);
    default:
      return false;
  }
}
