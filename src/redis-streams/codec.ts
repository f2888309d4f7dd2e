/**
 * The wire of @socket.io/redis-streams-adapter 0.3: stream entries with the
 * fields `uid`, `nsp`, `type` (the MessageType as decimal text) and `data`
 * (JSON text, or base64 MessagePack when the data carries binary and
 * `onlyPlaintext` is off; absent when the message has none), and pub/sub
 * messages (requests that need no log, and responses) as MessagePack of the
 * whole message.
 */
import { MessageType, isObject, type BusCodec, type ClusterMessage } from "../adapter/bus/index.js";
import { decode, encode } from "../redis/msgpack/index.js";
import { hasBinary } from "../redis/protocol.js";

/** Message types whose data may carry application values (hence binary). */
const MAY_CARRY_BINARY = new Set<number>([
  MessageType.BROADCAST,
  MessageType.FETCH_SOCKETS_RESPONSE,
  MessageType.SERVER_SIDE_EMIT,
  MessageType.SERVER_SIDE_EMIT_RESPONSE,
  MessageType.BROADCAST_ACK,
]);

/** Largest `data` field accepted from the stream (a hostile entry must not cost more). */
const MAX_DATA_LENGTH = 64 * 1024 * 1024;
/** Largest `trace` field read (the context fields are checked again where they are used). */
const MAX_TRACE_LENGTH = 16 * 1024;

/**
 * Messages that go over pub/sub rather than the stream, as the reference
 * decides: broadcasts with ack, serverSideEmit and fetchSockets requests.
 * They need no recovery, and their answers are only useful live.
 */
export function isEphemeral(message: ClusterMessage): boolean {
  if (message.type === MessageType.BROADCAST) return message.data?.requestId !== undefined;
  return message.type === MessageType.SERVER_SIDE_EMIT || message.type === MessageType.FETCH_SOCKETS;
}

export function entryCodec(onlyPlaintext: boolean): BusCodec<Record<string, string>> {
  return {
    encode(message) {
      const fields: Record<string, string> = { uid: message.uid, nsp: message.nsp, type: String(message.type) };
      if (message.data) {
        fields.data =
          !onlyPlaintext && MAY_CARRY_BINARY.has(message.type) && hasBinary(message.data)
            ? encode(message.data).toString("base64")
            : JSON.stringify(message.data);
      }
      // tidewire: the sender's trace context, a field official nodes do not read.
      if (message.trace !== undefined) fields.trace = JSON.stringify(message.trace);
      return fields;
    },
    decode(fields) {
      const { uid, nsp, type, data } = fields;
      if (typeof uid !== "string" || typeof nsp !== "string" || typeof type !== "string" || !/^\d{1,4}$/.test(type)) {
        throw new Error("entry without uid, nsp and numeric type");
      }
      const message: ClusterMessage = { uid, nsp, type: parseInt(type, 10) };
      if (data !== undefined && data !== "") {
        if (data.length > MAX_DATA_LENGTH) throw new Error(`data of ${data.length} characters`);
        message.data = data.startsWith("{") ? JSON.parse(data) : decode(Buffer.from(data, "base64"));
      }
      const trace = fields.trace;
      if (typeof trace === "string" && trace.length <= MAX_TRACE_LENGTH) {
        try {
          message.trace = JSON.parse(trace);
        } catch {
          // A malformed context is not a malformed message: the message is acted on without it.
        }
      }
      return message;
    },
  };
}

export const pubsubCodec: BusCodec<Buffer> = {
  encode: (message) => encode(message),
  decode(raw) {
    const message = decode(raw);
    if (!isObject(message)) throw new Error("not a message object");
    return message as ClusterMessage;
  },
};
