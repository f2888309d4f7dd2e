/**
 * Client-to-server WebSocket frames (RFC 6455 §5), parsed incrementally from
 * the raw socket's chunks.
 *
 * Rules enforced (each stops the reader and reports a close code):
 * - 1002: a reserved bit set (no extension is negotiated on this path), an
 *   unmasked frame (§5.1: every client frame is masked), an unknown opcode,
 *   a continuation without a message under way or a new data frame inside
 *   one, a fragmented or over-125-byte control frame, a 1-byte close payload
 *   or an invalid close code (§7.4.1).
 * - 1007: a text message or a close reason that is not valid UTF-8.
 * - 1008: a message in more than MAX_FRAGMENTS fragments (empty ones count).
 * - 1009: a message (all its fragments together) over `maxPayload`.
 *
 * Bounds: a partial header holds at most 13 bytes; a partial frame holds one
 * buffer of the frame's declared size, which is checked against `maxPayload`
 * before anything is allocated; fragments are copied into one buffer that
 * grows by doubling up to `maxPayload`, so a message split into a million
 * one-byte fragments costs one buffer, not a million.
 */
import * as buffer from "node:buffer";

/** Node's native check (18.14+); a JavaScript one on older 18.x releases. */
const nativeIsUtf8: ((data: Buffer) => boolean) | undefined = (buffer as { isUtf8?: (data: Buffer) => boolean }).isUtf8;

export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TOO_BIG = 1009;
/** The code reported for a close frame without payload (§7.1.5); never sent on the wire. */
export const CLOSE_NO_STATUS = 1005;

/** Receives what the reader finds; called synchronously from `feed()`. */
export interface FrameSink {
  /** A complete message. Text is valid UTF-8. The buffer may be a view of the socket's chunk. */
  onWsMessage(data: Buffer, binary: boolean): void;
  onWsPing(payload: Buffer): void;
  /** A close frame: `code` is 1005 when it had no payload. The reader stops after it. */
  onWsClose(code: number, reason: Buffer): void;
  /** A protocol violation; the reader has stopped. */
  onWsError(code: number, message: string): void;
}

/** Fragments one message may have (ws's default limit, so both paths agree). */
export const MAX_FRAGMENTS = 16_384;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const EMPTY = Buffer.alloc(0);

/** XORs `data` in place with the 4-byte `mask` (big-endian, as on the wire), starting at mask byte 0. */
export function unmask(data: Buffer, mask: number): void {
  if (mask === 0) return;
  const len = data.length;
  const m0 = mask >>> 24;
  const m1 = (mask >>> 16) & 0xff;
  const m2 = (mask >>> 8) & 0xff;
  const m3 = mask & 0xff;
  let i = 0;
  if (len >= 32) {
    // Bytes up to a 4-byte boundary, then whole words with the mask rotated to match.
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) data[i] ^= i === 0 ? m0 : i === 1 ? m1 : m2;
    const rotated = lead === 0 ? mask : ((mask << (8 * lead)) | (mask >>> (32 - 8 * lead))) >>> 0;
    const word = LITTLE_ENDIAN ? swap32(rotated) : rotated;
    const words = (len - i) >>> 2;
    const view = new Int32Array(data.buffer, data.byteOffset + i, words);
    for (let j = 0; j < words; j++) view[j] ^= word;
    i += words << 2;
  }
  for (; i < len; i++) {
    const k = i & 3;
    data[i] ^= k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3;
  }
}

function swap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Close codes a peer may send (§7.4.1, §7.4.2). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** UTF-8 check; short all-ASCII payloads (the common Engine.IO packet) skip the native call. */
export function isValidUtf8(data: Buffer): boolean {
  if (data.length < 32) {
    let i = 0;
    while (i < data.length && data[i] < 0x80) i++;
    if (i === data.length) return true;
  }
  return nativeIsUtf8 !== undefined ? nativeIsUtf8(data) : isUtf8Js(data);
}

/** RFC 3629 well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
export function isUtf8Js(data: Uint8Array): boolean {
  const len = data.length;
  let i = 0;
  while (i < len) {
    const b = data[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Sequence length and the allowed range of its second byte (§4 of RFC 3629).
    let need = 3;
    let min = 0x80;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0;
      else if (b === 0xed) max = 0x9f;
    } else if (b === 0xf0) min = 0x90;
    else if (b === 0xf4) max = 0x8f;
    else if (b < 0xf1 || b > 0xf3) return false;
    if (i + need >= len) return false;
    const second = data[i + 1];
    if (second < min || second > max) return false;
    for (let k = 2; k <= need; k++) {
      const c = data[i + k];
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxPayload: number;
  /** Header bytes of a frame whose header was cut by a chunk boundary. */
  #head: Buffer | null = null;
  /** The payload of the current frame while it arrives over several chunks. */
  #payload: Buffer | null = null;
  #filled = 0;
  /** The current frame: FIN bit (0x80) | opcode, its mask and its payload length. */
  #bits = 0;
  #mask = 0;
  #length = 0;
  /** The fragmented message under way: its opcode (0 when none), bytes and length. */
  #fragOpcode = 0;
  #fragments: Buffer | null = null;
  #fragLength = 0;
  #fragCount = 0;
  #stopped = false;

  constructor(sink: FrameSink, maxPayload: number) {
    this.#sink = sink;
    this.#maxPayload = maxPayload;
  }

  /** Whether a close frame or an error ended the reading. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops reading: later chunks are ignored. */
  stop(): void {
    this.#stopped = true;
    this.#head = this.#payload = this.#fragments = null;
  }

  /** Parses `chunk` (which the reader may modify: payloads are unmasked in place). */
  feed(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end && !this.#stopped) {
      const payload = this.#payload;
      if (payload !== null) {
        const take = Math.min(payload.length - this.#filled, end - pos);
        chunk.copy(payload, this.#filled, pos, pos + take);
        this.#filled += take;
        pos += take;
        if (this.#filled < payload.length) return;
        this.#payload = null;
        this.#frame(payload);
        continue;
      }
      if (this.#head !== null) {
        const head = this.#head;
        // A header is at most 14 bytes: 14 more bytes always complete it.
        const joined = Buffer.concat([head, chunk.subarray(pos, pos + 14)]);
        const size = this.#header(joined, 0);
        if (size < 0) return;
        if (size === 0) {
          this.#head = joined;
          return;
        }
        this.#head = null;
        pos += size - head.length;
      } else {
        const size = this.#header(chunk, pos);
        if (size < 0) return;
        if (size === 0) {
          this.#head = Buffer.from(chunk.subarray(pos));
          return;
        }
        pos += size;
      }
      const length = this.#length;
      if (end - pos >= length) {
        const body = length === 0 ? EMPTY : chunk.subarray(pos, pos + length);
        pos += length;
        this.#frame(body);
      } else {
        const body = Buffer.allocUnsafe(length);
        chunk.copy(body, 0, pos, end);
        this.#filled = end - pos;
        this.#payload = body;
        return;
      }
    }
  }

  /**
   * Reads and checks the header at `pos`: its size in bytes, 0 when the
   * buffer ends inside it, -1 after a protocol error.
   */
  #header(buf: Buffer, pos: number): number {
    const available = buf.length - pos;
    if (available < 2) return 0;
    const b0 = buf[pos];
    const b1 = buf[pos + 1];
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) return this.#fail(CLOSE_PROTOCOL_ERROR, "a reserved bit is set (no extension was negotiated)");
    if ((b1 & 0x80) === 0) return this.#fail(CLOSE_PROTOCOL_ERROR, "an unmasked frame from the client");
    let length = b1 & 0x7f;
    if (opcode >= 8) {
      if (opcode > 10) return this.#fail(CLOSE_PROTOCOL_ERROR, `invalid opcode ${opcode}`);
      if (!fin) return this.#fail(CLOSE_PROTOCOL_ERROR, "a fragmented control frame");
      if (length > 125) return this.#fail(CLOSE_PROTOCOL_ERROR, `a control frame of ${length} bytes (at most 125)`);
    } else if (opcode === 0) {
      if (this.#fragOpcode === 0) return this.#fail(CLOSE_PROTOCOL_ERROR, "a continuation frame without a message under way");
    } else if (opcode <= 2) {
      if (this.#fragOpcode !== 0) return this.#fail(CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one");
    } else {
      return this.#fail(CLOSE_PROTOCOL_ERROR, `invalid opcode ${opcode}`);
    }
    let size = 6;
    if (length === 126) {
      if (available < 8) return 0;
      length = buf.readUInt16BE(pos + 2);
      size = 8;
    } else if (length === 127) {
      if (available < 14) return 0;
      const high = buf.readUInt32BE(pos + 2);
      length = high * 0x100000000 + buf.readUInt32BE(pos + 6);
      size = 14;
    } else if (available < 6) {
      return 0;
    }
    if (opcode < 8 && this.#fragLength + length > this.#maxPayload) {
      return this.#fail(CLOSE_TOO_BIG, `a message over maxHttpBufferSize (${this.#maxPayload} bytes)`);
    }
    this.#bits = (fin ? 0x80 : 0) | opcode;
    this.#mask = buf.readUInt32BE(pos + size - 4);
    this.#length = length;
    return size;
  }

  /** A complete frame's payload (still masked). */
  #frame(payload: Buffer): void {
    unmask(payload, this.#mask);
    const opcode = this.#bits & 0x0f;
    const fin = (this.#bits & 0x80) !== 0;
    if (opcode >= 8) return this.#control(opcode, payload);
    if ((opcode === 0 || !fin) && ++this.#fragCount > MAX_FRAGMENTS) {
      this.#fail(CLOSE_POLICY_VIOLATION, `a message in more than ${MAX_FRAGMENTS} fragments`);
      return;
    }
    if (opcode === 0) {
      this.#append(payload);
      if (!fin) return;
      const message = (this.#fragments as Buffer).subarray(0, this.#fragLength);
      const binary = this.#fragOpcode === 2;
      this.#fragments = null;
      this.#fragOpcode = 0;
      this.#fragLength = 0;
      this.#fragCount = 0;
      return this.#message(message, binary);
    }
    if (!fin) {
      this.#fragOpcode = opcode;
      this.#append(payload);
      return;
    }
    this.#message(payload, opcode === 2);
  }

  #append(payload: Buffer): void {
    const needed = this.#fragLength + payload.length;
    let store = this.#fragments;
    if (store === null || store.length < needed) {
      const capacity = Math.min(this.#maxPayload, Math.max(needed, 1024, store === null ? 0 : store.length * 2));
      const grown = Buffer.allocUnsafe(capacity);
      if (store !== null) store.copy(grown, 0, 0, this.#fragLength);
      this.#fragments = store = grown;
    }
    payload.copy(store, this.#fragLength);
    this.#fragLength = needed;
  }

  #message(data: Buffer, binary: boolean): void {
    if (!binary && !isValidUtf8(data)) {
      this.#fail(CLOSE_INVALID_DATA, "a text message that is not valid UTF-8");
      return;
    }
    this.#sink.onWsMessage(data, binary);
  }

  #control(opcode: number, payload: Buffer): void {
    if (opcode === 9) return this.#sink.onWsPing(payload);
    if (opcode === 10) return;
    // Close (§5.5.1): no payload, or a 2-byte code and a UTF-8 reason.
    if (payload.length === 0) {
      this.stop();
      return this.#sink.onWsClose(CLOSE_NO_STATUS, EMPTY);
    }
    if (payload.length === 1) {
      this.#fail(CLOSE_PROTOCOL_ERROR, "a close frame with a 1-byte payload");
      return;
    }
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) {
      this.#fail(CLOSE_PROTOCOL_ERROR, `invalid close code ${code}`);
      return;
    }
    const reason = payload.subarray(2);
    if (!isValidUtf8(reason)) {
      this.#fail(CLOSE_INVALID_DATA, "a close reason that is not valid UTF-8");
      return;
    }
    this.stop();
    this.#sink.onWsClose(code, Buffer.from(reason));
  }

  #fail(code: number, message: string): -1 {
    this.stop();
    this.#sink.onWsError(code, message);
    return -1;
  }
}
