/**
 * Socket.IO v5 packet encoder (protocol §9, §12): one string
 * `<type>[<attachments>-][<nsp>,][<ack id>][<json>]`, followed by the binary
 * attachments of a BINARY_EVENT / BINARY_ACK, each to be sent as its own
 * Engine.IO message right after the string.
 */
import { ErrorCodes, TidewireError } from "../../core/errors.js";
import { deconstruct, hasBinary, type Deconstructed } from "./binary.js";
import { stringifyDeep } from "./deep-json.js";
import { fastJson, NOT_SIMPLE } from "./fast-json.js";
import { PacketType, type Packet } from "./packet.js";

/** A JSON.stringify replacer. */
export type JsonReplacer = (this: any, key: string, value: any) => any;

/**
 * Turns what JSON.stringify (or a toJSON method, getter or replacer it
 * calls) threw into an error the emitter can act on: TypeError for cycles
 * and bigints. Values nested too deeply for JSON.stringify never get here:
 * they are written by the iterative writer instead.
 */
function stringifyError(err: unknown): TidewireError {
  if (err instanceof TidewireError) return err;
  if (isStackOverflow(err)) {
    // Only reached when a toJSON method or the replacer itself recurses without end.
    return new TidewireError(
      ErrorCodes.LIMIT,
      "Cannot encode the packet: serializing its data overflowed the call stack (a toJSON method or the replacer recursing without end?).",
      { cause: err },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new TidewireError(
    ErrorCodes.UNSUPPORTED,
    `Cannot encode the packet: its data cannot be serialized to JSON (${detail}).`,
    { cause: err },
  );
}

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** The text before the JSON: type, attachment count, namespace, ack id. */
function header(type: PacketType, attachments: number, nsp: string | undefined, id: number | undefined): string {
  let head = "" + type;
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) head += attachments + "-";
  // The namespace is written only when it is not the main one, and always ends with ",".
  if (nsp && nsp !== "/") head += nsp + ",";
  if (id !== undefined && id !== null) head += id;
  return head;
}

/** `[header, ...buffers]`, reusing the buffers' array. */
function withAttachments(head: string, buffers: Buffer[]): Array<string | Buffer> {
  const out: Array<string | Buffer> = buffers;
  out.unshift(head);
  return out;
}

/**
 * Encodes packets. Stateless apart from the optional replacer, so one
 * instance serves every connection of a server.
 */
export class Encoder {
  readonly #replacer: JsonReplacer | undefined;

  /**
   * @param replacer passed to JSON.stringify for every payload.
   * @default undefined
   */
  constructor(replacer?: JsonReplacer) {
    this.#replacer = replacer;
  }

  /**
   * Encodes one packet. The result is `[string]`, or for a packet whose data
   * contains binary `[string, ...buffers]` with type BINARY_EVENT /
   * BINARY_ACK (an EVENT / ACK carrying binary is upgraded, a BINARY_* without
   * binary is sent as EVENT / ACK). Throws a TidewireError when the data
   * cannot be serialized (circular, bigint). Any depth is encoded.
   */
  encode(packet: Packet): Array<string | Buffer> {
    const type = packet.type;
    const data = packet.data;
    if (type === PacketType.EVENT || type === PacketType.ACK) {
      return this.#encodeArgs(packet, type === PacketType.EVENT);
    }
    if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
      return this.#encodeArgs(packet, type === PacketType.BINARY_EVENT);
    }
    const head = header(type, 0, packet.nsp, packet.id);
    if (data === undefined || data === null) return [head];
    return [head + this.#stringify(data)];
  }

  #encodeArgs(packet: Packet, isEvent: boolean): Array<string | Buffer> {
    const data = packet.data;
    const plainType = isEvent ? PacketType.EVENT : PacketType.ACK;
    if (data === undefined || data === null) return [header(plainType, 0, packet.nsp, packet.id)];
    const binaryType = isEvent ? PacketType.BINARY_EVENT : PacketType.BINARY_ACK;
    if (this.#replacer === undefined) {
      // One walk writes the JSON, placeholders and attachments of the common shapes.
      const buffers: Buffer[] = [];
      let json;
      try {
        json = fastJson(data, buffers);
      } catch (err) {
        throw stringifyError(err);
      }
      if (json !== NOT_SIMPLE) {
        if (buffers.length === 0) return [header(plainType, 0, packet.nsp, packet.id) + json];
        return withAttachments(header(binaryType, buffers.length, packet.nsp, packet.id) + json, buffers);
      }
    }
    // General path: search for binary (following toJSON as socket.io-parser does), then copy.
    let parts: Deconstructed | null;
    try {
      parts = hasBinary(data) ? deconstruct(data) : null;
    } catch (err) {
      throw stringifyError(err);
    }
    if (parts === null) return [header(plainType, 0, packet.nsp, packet.id) + this.#stringify(data)];
    const head = header(binaryType, parts.buffers.length, packet.nsp, packet.id);
    return withAttachments(head + this.#stringify(parts.data), parts.buffers);
  }

  #stringify(data: unknown): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(data, this.#replacer);
    } catch (err) {
      if (!isStackOverflow(err)) throw stringifyError(err);
      // Deeper than V8's JSON.stringify goes (a client may send 200,000 levels,
      // which JSON.parse accepts): the iterative writer gives the same bytes.
      // toJSON methods and the replacer run again for the members already seen.
      try {
        json = stringifyDeep(data, this.#replacer);
      } catch (deepErr) {
        throw stringifyError(deepErr);
      }
    }
    // JSON.stringify returns undefined for a function or symbol (or what a replacer turns into one).
    return json === undefined ? "" : json;
  }
}
