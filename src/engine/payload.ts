/**
 * Engine.IO v4 polling payloads (protocol.md §4): packets in their text form
 * joined with the record separator 0x1E. Binary messages are `b<base64>`;
 * the protocol relies on text data never containing 0x1E.
 */
import { decodePacket, encodePacket, PARSE_ERROR, type DecodedPacket, type Packet } from "./packet.js";

export const SEPARATOR = "\x1e";

/** The text form of one queued packet, reusing a broadcast's shared encoding. */
export function encodePollingPacket(packet: Packet): string {
  const cache = packet.options?.cache;
  if (cache === undefined || packet.type !== "message") return encodePacket(packet);
  let encoded = cache.polling;
  if (encoded === undefined) {
    encoded = encodePacket(packet);
    cache.polling = encoded;
  }
  return encoded;
}

export function encodePayload(packets: readonly Packet[]): string {
  let out = encodePollingPacket(packets[0]);
  for (let i = 1; i < packets.length; i++) out += SEPARATOR + encodePollingPacket(packets[i]);
  return out;
}

/**
 * Splits a POST body into packets. Decoding stops at the first invalid
 * packet, which is returned last as the error packet; the packets before it
 * are still valid and delivered. Never throws.
 */
export function decodePayload(payload: string): DecodedPacket[] {
  const packets: DecodedPacket[] = [];
  let start = 0;
  for (;;) {
    const end = payload.indexOf(SEPARATOR, start);
    const packet = decodePacket(end === -1 ? payload.slice(start) : payload.slice(start, end));
    packets.push(packet);
    if (packet.type === "error" || end === -1) return packets;
    start = end + 1;
  }
}

export { PARSE_ERROR };
