/**
 * Socket.IO v5 packet decoder (protocol §9 decoding rules, §12 binary
 * reassembly). Every violation throws a ParseError out of `add()`; the
 * caller then closes the connection ("parse error").
 */
import { EventEmitter } from "node:events";
import { invalidOption, ParseError } from "../../core/errors.js";
import { reconstruct, toBuffer } from "./binary.js";
import { isPayloadValid, PacketType, type Packet } from "./packet.js";

/** A JSON.parse reviver. */
export type JsonReviver = (this: any, key: string, value: any) => any;

export interface DecoderOptions {
  /**
   * Passed to JSON.parse for every payload.
   * @default undefined
   */
  reviver?: JsonReviver;
  /**
   * Most binary attachments one packet may announce; a larger count is a
   * parse error. Each attachment is at most one Engine.IO message, itself
   * bounded by `maxHttpBufferSize`.
   * @default 10
   */
  maxAttachments?: number;
}

/** Events of a Decoder: `decoded` carries one complete packet. */
export type DecoderEvents = { decoded: [packet: Packet] };

/** `maxAttachments` when not given. */
export const DEFAULT_MAX_ATTACHMENTS = 10;

/** More digits than this cannot be a safe integer (2^53 - 1 has 16). */
const MAX_ID_DIGITS = 16;
/** More digits than this in an attachment count are never a valid count. */
const MAX_COUNT_DIGITS = 10;

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DASH = 45;
const CHAR_SLASH = 47;

/** A short, safe rendering of hostile input for an error message. */
function excerpt(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + "…" : s);
}

/**
 * A binary packet whose attachments are still arriving (protocol §12). It
 * exists only between the packet's header and its last attachment.
 */
export class PendingBinary {
  /** The header, already typed EVENT / ACK; its placeholders get the buffers. */
  readonly packet: Packet;
  readonly expected: number;
  readonly buffers: Buffer[] = [];

  constructor(packet: Packet, expected: number) {
    this.packet = packet;
    this.expected = expected;
  }

  /** Takes the next attachment; returns the complete packet after the last one, else null. */
  add(buffer: Buffer): Packet | null {
    const buffers = this.buffers;
    buffers.push(buffer);
    if (buffers.length < this.expected) return null;
    const packet = this.packet;
    if (packet.data !== undefined) packet.data = reconstruct(packet.data, buffers);
    return packet;
  }
}

/**
 * Decodes one text message: a complete packet, or, for a BINARY_EVENT /
 * BINARY_ACK header, the PendingBinary that waits for its attachments.
 * Stateless, so a connection with the built-in parser needs no decoder
 * object of its own. Throws a ParseError on invalid input.
 */
export function decodeText(str: string, reviver: JsonReviver | undefined, maxAttachments: number): Packet | PendingBinary {
  const n = str.length;
  if (n === 0) throw new ParseError("empty packet");
  const type = str.charCodeAt(0) - CHAR_0;
  if (type < PacketType.CONNECT || type > PacketType.BINARY_ACK) {
    throw new ParseError(`unknown packet type ${excerpt(str.charAt(0))}`);
  }
  let i = 1;
  let attachments = 0;
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    // Attachment count: decimal digits then "-", an integer in 1..maxAttachments.
    while (i < n && i <= MAX_COUNT_DIGITS) {
      const c = str.charCodeAt(i);
      if (c < CHAR_0 || c > CHAR_9) break;
      i++;
    }
    if (i === 1 || i === n || str.charCodeAt(i) !== CHAR_DASH) throw new ParseError("Illegal attachments");
    attachments = Number(str.slice(1, i));
    if (attachments < 1) throw new ParseError("Illegal attachments: the count must be at least 1");
    if (attachments > maxAttachments) {
      throw new ParseError(`too many attachments: ${attachments}, the limit is ${maxAttachments}`);
    }
    i++;
  }
  // Namespace: from "/" to the next "," (which is consumed) or to the end of the string.
  let nsp = "/";
  if (str.charCodeAt(i) === CHAR_SLASH) {
    const comma = str.indexOf(",", i);
    if (comma === -1) {
      nsp = str.slice(i);
      i = n;
    } else {
      nsp = str.slice(i, comma);
      i = comma + 1;
    }
  }
  // Ack id: the run of digits right before the JSON.
  let id: number | undefined;
  const idStart = i;
  while (i < n) {
    const c = str.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) break;
    i++;
  }
  if (i > idStart) {
    id = i - idStart > MAX_ID_DIGITS ? Infinity : Number(str.slice(idStart, i));
    if (!Number.isSafeInteger(id)) throw new ParseError("invalid ack id: not a safe integer");
  }
  const packet: Packet = { type, nsp };
  if (id !== undefined) packet.id = id;
  if (i < n) {
    let payload: unknown;
    try {
      payload = JSON.parse(str.slice(i), reviver);
    } catch (err) {
      // JSON.parse with a reviver recurses and throws RangeError on very deep input; same outcome.
      throw new ParseError(`invalid payload: not valid JSON (${(err as Error)?.message ?? String(err)})`);
    }
    if (!isPayloadValid(type, payload)) throw new ParseError(`invalid payload for packet type ${type}`);
    packet.data = payload;
  }
  if (attachments === 0) return packet;
  // Delivered as EVENT / ACK once its placeholders hold the buffers.
  packet.type = type === PacketType.BINARY_EVENT ? PacketType.EVENT : PacketType.ACK;
  return new PendingBinary(packet, attachments);
}

/**
 * One decoding step over a connection's next Engine.IO message, given the
 * binary packet still waiting for attachments (or null). Returns the
 * complete packet, or the PendingBinary to keep waiting with. Throws a
 * ParseError on invalid input. The Decoder class and connections using the
 * built-in parser directly share it.
 */
export function decodeMessage(
  chunk: unknown,
  pending: PendingBinary | null,
  reviver: JsonReviver | undefined,
  maxAttachments: number,
): Packet | PendingBinary {
  if (typeof chunk === "string") {
    if (pending !== null) throw new ParseError("got plaintext data when reconstructing a packet");
    return decodeText(chunk, reviver, maxAttachments);
  }
  let buffer: Buffer;
  if (Buffer.isBuffer(chunk)) buffer = chunk;
  else if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) buffer = toBuffer(chunk);
  else throw new ParseError(`Unknown type: ${chunk === null ? "null" : typeof chunk} instead of a string or binary data`);
  if (pending === null) throw new ParseError("got binary data when not reconstructing a packet");
  return pending.add(buffer) ?? pending;
}

/**
 * Decodes the Engine.IO messages of one connection into packets. Feed it
 * every message in order with `add()`; listen to `decoded`.
 */
export class Decoder extends EventEmitter<DecoderEvents> {
  readonly #reviver: JsonReviver | undefined;
  readonly #maxAttachments: number;
  /** The binary packet whose attachments are still arriving. */
  #pending: PendingBinary | null = null;

  /** @param opts options, or (as socket.io-parser accepts) the reviver itself. */
  constructor(opts?: DecoderOptions | JsonReviver) {
    super();
    const o: DecoderOptions = typeof opts === "function" ? { reviver: opts } : (opts ?? {});
    if (o.reviver !== undefined && typeof o.reviver !== "function") {
      throw invalidOption("reviver", "a function", o.reviver);
    }
    const max = o.maxAttachments ?? DEFAULT_MAX_ATTACHMENTS;
    if (!Number.isInteger(max) || max < 0) {
      throw invalidOption("maxAttachments", "an integer >= 0", o.maxAttachments);
    }
    this.#reviver = o.reviver;
    this.#maxAttachments = max;
  }

  /**
   * Takes one Engine.IO message: a packet string, or one binary attachment
   * of the binary packet announced before it. Emits `decoded` when a packet
   * is complete; throws a ParseError on invalid input.
   */
  add(chunk: string | Buffer | ArrayBuffer | ArrayBufferView): void {
    const pending = this.#pending;
    let decoded: Packet | PendingBinary;
    try {
      decoded = decodeMessage(chunk, pending, this.#reviver, this.#maxAttachments);
    } catch (err) {
      // A packet whose last attachment came is dropped even when it cannot be reconstructed.
      if (pending !== null && pending.buffers.length >= pending.expected) this.#pending = null;
      throw err;
    }
    if (decoded instanceof PendingBinary) {
      this.#pending = decoded;
      return;
    }
    this.#pending = null;
    this.emit("decoded", decoded);
  }

  /** Drops a binary packet whose attachments have not all arrived. */
  destroy(): void {
    this.#pending = null;
  }
}
