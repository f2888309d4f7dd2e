/**
 * Engine.IO revision 3 codecs (protocol.md §14), for Socket.IO v2 clients.
 *
 * Packets: `<digit><data>`; binary data is `b<digit><base64>` in text form
 * (the type digit is kept) and `<type byte><bytes>` in binary form.
 * Text payloads: `<length>:<packet>` repeated, the length counted in UTF-16
 * code units. Binary payloads (clients without `b64`, when a batch holds
 * binary): per packet `0x00` (text) or `0x01` (binary), the byte length as one
 * byte per decimal digit, `0xFF`, then the packet bytes.
 */
import { decodeBase64, PACKET_CODES, PACKET_NAMES, PARSE_ERROR, type DecodedPacket, type Packet } from "./packet.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** A length prefix longer than this is not a length (10 digits > any body we accept). */
const MAX_LENGTH_DIGITS = 10;

/** Text form of a v3 packet: binary data becomes `b<digit><base64>`. */
export function encodePacketV3(packet: Packet): string {
  const data = packet.data;
  if (data === undefined) return PACKET_CODES[packet.type];
  if (typeof data === "string") return PACKET_CODES[packet.type] + data;
  return "b" + PACKET_CODES[packet.type] + data.toString("base64");
}

/** Binary form of a v3 packet with binary data: the type byte, then the bytes. */
export function encodeBinaryPacketV3(packet: Packet & { data: Buffer }): Buffer {
  const out = Buffer.allocUnsafe(packet.data.length + 1);
  out[0] = PACKET_CODES[packet.type].charCodeAt(0) - 0x30;
  packet.data.copy(out, 1);
  return out;
}

/** Decodes one v3 packet (a WebSocket frame or a payload element). Never throws. */
export function decodePacketV3(input: string | Buffer): DecodedPacket {
  if (typeof input !== "string") {
    const type = input.length > 0 ? PACKET_NAMES[input[0]] : undefined;
    return type === undefined ? PARSE_ERROR : { type, data: input.subarray(1) };
  }
  let code = input.charCodeAt(0);
  if (code === 0x62 /* b */) {
    const type = PACKET_NAMES[input.charCodeAt(1) - 0x30];
    if (type === undefined) return PARSE_ERROR;
    const bytes = decodeBase64(input, 2);
    return bytes === null ? PARSE_ERROR : { type, data: bytes };
  }
  code -= 0x30;
  if (!(code >= 0 && code <= 6)) return PARSE_ERROR;
  const type = PACKET_NAMES[code];
  return input.length > 1 ? { type, data: input.slice(1) } : { type };
}

export function hasBinary(packets: readonly Packet[]): boolean {
  for (let i = 0; i < packets.length; i++) if (Buffer.isBuffer(packets[i].data)) return true;
  return false;
}

/** `<length>:<packet>` for each packet; `0:` for none. */
export function encodePayloadV3Text(packets: readonly Packet[]): string {
  if (packets.length === 0) return "0:";
  let out = "";
  for (let i = 0; i < packets.length; i++) {
    const packet = packets[i];
    const cache = packet.options?.cache;
    let encoded: string;
    // The shared encoding is the v4 one; it only coincides for text messages.
    if (cache !== undefined && packet.type === "message" && typeof packet.data === "string") {
      encoded = cache.polling ??= PACKET_CODES.message + packet.data;
    } else {
      encoded = encodePacketV3(packet);
    }
    out += encoded.length + ":" + encoded;
  }
  return out;
}

/** Decodes a text payload; stops at the first error, which is returned last. Never throws. */
export function decodePayloadV3Text(payload: string): DecodedPacket[] {
  const packets: DecodedPacket[] = [];
  const n = payload.length;
  if (n === 0) return [PARSE_ERROR];
  let i = 0;
  while (i < n) {
    let length = 0;
    let digits = 0;
    let c = payload.charCodeAt(i);
    while (c >= 0x30 && c <= 0x39 && digits <= MAX_LENGTH_DIGITS) {
      length = length * 10 + (c - 0x30);
      digits++;
      c = payload.charCodeAt(++i);
    }
    if (digits === 0 || digits > MAX_LENGTH_DIGITS || c !== 0x3a /* : */ || i + 1 + length > n) {
      packets.push(PARSE_ERROR);
      return packets;
    }
    i++;
    if (length > 0) {
      const packet = decodePacketV3(payload.slice(i, i + length));
      packets.push(packet);
      if (packet.type === "error") return packets;
    }
    i += length;
  }
  return packets;
}

function digitsOf(n: number): string {
  return String(n);
}

/** The binary payload format; text packets are UTF-8, binary ones carry their type byte. */
export function encodePayloadV3Binary(packets: readonly Packet[]): Buffer {
  const parts: Array<Buffer | string> = new Array(packets.length);
  let total = 0;
  for (let i = 0; i < packets.length; i++) {
    const packet = packets[i];
    let size: number;
    if (Buffer.isBuffer(packet.data)) {
      parts[i] = packet.data;
      size = packet.data.length + 1;
    } else {
      const text = encodePacketV3(packet);
      parts[i] = text;
      size = Buffer.byteLength(text);
    }
    total += 2 + digitsOf(size).length + size;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < packets.length; i++) {
    const part = parts[i];
    const binary = typeof part !== "string";
    const size = binary ? part.length + 1 : Buffer.byteLength(part);
    out[offset++] = binary ? 1 : 0;
    const digits = digitsOf(size);
    for (let d = 0; d < digits.length; d++) out[offset++] = digits.charCodeAt(d) - 0x30;
    out[offset++] = 0xff;
    if (binary) {
      out[offset++] = PACKET_CODES[packets[i].type].charCodeAt(0) - 0x30;
      offset += part.copy(out, offset);
    } else {
      offset += out.write(part, offset, "utf8");
    }
  }
  return out;
}

/** Decodes a binary payload (octet-stream POST); stops at the first error. Never throws. */
export function decodePayloadV3Binary(payload: Buffer): DecodedPacket[] {
  const packets: DecodedPacket[] = [];
  const n = payload.length;
  let i = 0;
  while (i < n) {
    const kind = payload[i++];
    let length = 0;
    let digits = 0;
    let terminated = false;
    while (i < n && digits <= MAX_LENGTH_DIGITS) {
      const b = payload[i++];
      if (b === 0xff) {
        terminated = true;
        break;
      }
      if (b > 9) break;
      length = length * 10 + b;
      digits++;
    }
    if ((kind !== 0 && kind !== 1) || !terminated || digits === 0 || i + length > n) {
      packets.push(PARSE_ERROR);
      return packets;
    }
    const chunk = payload.subarray(i, i + length);
    i += length;
    let packet: DecodedPacket;
    if (kind === 0) {
      let text: string;
      try {
        text = strictUtf8.decode(chunk);
      } catch {
        packets.push(PARSE_ERROR);
        return packets;
      }
      packet = decodePacketV3(text);
    } else {
      packet = decodePacketV3(chunk);
    }
    packets.push(packet);
    if (packet.type === "error") return packets;
  }
  return packets;
}
