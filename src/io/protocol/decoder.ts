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
 * Decodes the Engine.IO messages of one connection into packets. Feed it
 * every message in order with `add()`; listen to `decoded`.
 */
export class Decoder extends EventEmitter<DecoderEvents> {
  readonly #reviver: JsonReviver | undefined;
  readonly #maxAttachments: number;
  /** The header of a binary packet whose attachments are still arriving. */
  #pending: Packet | null = null;
  #expected = 0;
  #buffers: Buffer[] = [];

  /** @param opts options, or (as socket.io-parser accepts) the reviver itself. */
  constructor(opts?: DecoderOptions | JsonReviver) {
    super();
    const o: DecoderOptions = typeof opts === "function" ? { reviver: opts } : (opts ?? {});
    if (o.reviver !== undefined && typeof o.reviver !== "function") {
      throw invalidOption("reviver", "a function", o.reviver);
    }
    const max = o.maxAttachments ?? 10;
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
    if (typeof chunk === "string") {
      if (this.#pending !== null) throw new ParseError("got plaintext data when reconstructing a packet");
      const packet = this.#decodeString(chunk);
      if (packet.type === PacketType.BINARY_EVENT || packet.type === PacketType.BINARY_ACK) {
        // Delivered as EVENT / ACK once its placeholders hold the buffers (#expected was set).
        packet.type = packet.type === PacketType.BINARY_EVENT ? PacketType.EVENT : PacketType.ACK;
        this.#pending = packet;
        return;
      }
      this.emit("decoded", packet);
      return;
    }
    let buffer: Buffer;
    if (Buffer.isBuffer(chunk)) buffer = chunk;
    else if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) buffer = toBuffer(chunk);
    else throw new ParseError(`Unknown type: ${chunk === null ? "null" : typeof chunk} instead of a string or binary data`);
    const packet = this.#pending;
    if (packet === null) throw new ParseError("got binary data when not reconstructing a packet");
    this.#buffers.push(buffer);
    if (this.#buffers.length < this.#expected) return;
    const buffers = this.#buffers;
    this.#pending = null;
    this.#buffers = [];
    this.#expected = 0;
    if (packet.data !== undefined) packet.data = reconstruct(packet.data, buffers);
    this.emit("decoded", packet);
  }

  /** Drops a binary packet whose attachments have not all arrived. */
  destroy(): void {
    this.#pending = null;
    this.#buffers = [];
    this.#expected = 0;
  }

  /**
   * `<type>[<attachments>-][<nsp>,][<ack id>][<json>]`. For types 5 and 6
   * the announced count goes to #expected, not onto the packet.
   */
  #decodeString(str: string): Packet {
    const n = str.length;
    if (n === 0) throw new ParseError("empty packet");
    const type = str.charCodeAt(0) - CHAR_0;
    if (type < PacketType.CONNECT || type > PacketType.BINARY_ACK) {
      throw new ParseError(`unknown packet type ${excerpt(str.charAt(0))}`);
    }
    let i = 1;
    let attachments: number | undefined;
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
      if (attachments > this.#maxAttachments) {
        throw new ParseError(`too many attachments: ${attachments}, the limit is ${this.#maxAttachments}`);
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
        payload = JSON.parse(str.slice(i), this.#reviver);
      } catch (err) {
        // JSON.parse with a reviver recurses and throws RangeError on very deep input; same outcome.
        throw new ParseError(`invalid payload: not valid JSON (${(err as Error)?.message ?? String(err)})`);
      }
      if (!isPayloadValid(type, payload)) throw new ParseError(`invalid payload for packet type ${type}`);
      packet.data = payload;
    }
    if (attachments !== undefined) this.#expected = attachments;
    return packet;
  }
}
