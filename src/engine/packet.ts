/**
 * Engine.IO packets and their v4 text encoding (protocol.md §2).
 *
 * A packet is `<type digit><data>`; binary data only exists for `message`
 * packets and is written as `b<base64>` wherever text is required (polling,
 * WebSocket clients that asked for `b64`). The shapes match engine.io's so
 * that `packet` / `packetCreate` listeners written for it keep working.
 */
import type { SendOptions } from "../core/types.js";

export type PacketType = "open" | "close" | "ping" | "pong" | "message" | "upgrade" | "noop";

/** A packet as the session queues and the transports encode it. */
export interface Packet {
  type: PacketType;
  /** Absent for packets without data; `undefined` for an empty message. */
  data?: string | Buffer;
  options?: SendOptions;
}

/** What a decoder returns for input it cannot make sense of. */
export interface ErrorPacket {
  type: "error";
  data: string;
}

export type DecodedPacket = Packet | ErrorPacket;

export const PACKET_CODES: Readonly<Record<PacketType, string>> = Object.freeze({
  open: "0",
  close: "1",
  ping: "2",
  pong: "3",
  message: "4",
  upgrade: "5",
  noop: "6",
});

/** Index = type digit. */
export const PACKET_NAMES: readonly PacketType[] = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];

export const PARSE_ERROR: ErrorPacket = Object.freeze({ type: "error", data: "parser error" }) as ErrorPacket;

/**
 * What `send()` / `write()` of a session accept, as engine.io does: text,
 * binary data (a Buffer, an ArrayBuffer, any typed array or a DataView), or
 * another value, which is sent as its string form.
 */
export type MessageData = string | Buffer | ArrayBuffer | ArrayBufferView | number | bigint | boolean | null | undefined;

/**
 * The payload of a message as the queue and the transports handle it.
 * engine.io-parser sends binary views as their bytes (never copied here:
 * the Buffer shares their memory, as ws does) and writes anything else as
 * `type + (data || "")`: a falsy value is an empty message, a number its
 * decimal text. Throws a TypeError for a Symbol (it has no string form).
 */
export function toMessageData(data: unknown): string | Buffer | undefined {
  if (typeof data === "string") return data;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!data) return undefined;
  if (typeof data === "symbol") {
    throw new TypeError("socket.send() cannot send a Symbol: pass a string, a Buffer or binary data");
  }
  return "" + (data as string);
}

/** The data of the open packet that answers a handshake (key order as engine.io's). */
export function openPacketData(
  sid: string,
  upgrades: string[],
  opts: { pingInterval: number; pingTimeout: number; maxHttpBufferSize: number },
): string {
  return JSON.stringify({
    sid,
    upgrades,
    pingInterval: opts.pingInterval,
    pingTimeout: opts.pingTimeout,
    maxPayload: opts.maxHttpBufferSize,
  });
}

/** Text form of one packet: `<digit><data>`, or `b<base64>` for binary data. */
export function encodePacket(packet: Packet): string {
  const data = packet.data;
  if (data === undefined) return PACKET_CODES[packet.type];
  if (typeof data === "string") return PACKET_CODES[packet.type] + data;
  return "b" + data.toString("base64");
}

/**
 * Decodes one v4 packet: a Buffer (a binary WebSocket frame) is a message; a
 * string starts with a type digit 0-6 or with `b` (base64 message). Anything
 * else is a parse error. Never throws.
 */
export function decodePacket(input: string | Buffer): DecodedPacket {
  if (typeof input !== "string") return { type: "message", data: input };
  const code = input.charCodeAt(0);
  if (code === 0x62 /* b */) {
    const bytes = decodeBase64(input, 1);
    return bytes === null ? PARSE_ERROR : { type: "message", data: bytes };
  }
  const index = code - 0x30;
  if (!(index >= 0 && index <= 6)) return PARSE_ERROR; // also catches "" (NaN)
  const type = PACKET_NAMES[index];
  return input.length > 1 ? { type, data: input.slice(1) } : { type };
}

/**
 * Strict standard base64 (RFC 4648 §4, padding optional) from `start`; null
 * when any character is outside the alphabet or the length is impossible.
 * engine.io silently skips bad characters; a corrupted binary message is
 * better refused than delivered altered.
 */
export function decodeBase64(input: string, start: number): Buffer | null {
  let end = input.length;
  if (end > start && input.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end > start && input.charCodeAt(end - 1) === 0x3d) end--;
  if ((end - start) % 4 === 1) return null;
  for (let i = start; i < end; i++) {
    const c = input.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return null;
  }
  return Buffer.from(start === 0 ? input : input.slice(start), "base64");
}
