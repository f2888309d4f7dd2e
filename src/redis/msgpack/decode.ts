/**
 * MessagePack decoding (format rules in ./index.ts). Hostile input ends in a
 * MsgpackError: nesting is bounded, every length is checked against the
 * bytes left before anything is allocated.
 */
import { MAX_DEPTH, MsgpackError, TWO_32 } from "./errors.js";

class Reader {
  readonly buf: Buffer;
  offset = 0;
  depth = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  need(n: number): void {
    if (this.offset + n > this.buf.length) {
      throw new MsgpackError(`truncated input: needs ${n} more byte(s) at offset ${this.offset}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  str(n: number): string {
    this.need(n);
    const v = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  value(): unknown {
    const b = this.u8();
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b & 0x0f);
    if (b < 0xa0) return this.array(b & 0x0f);
    if (b < 0xc0) return this.str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    const buf = this.buf;
    let v: number;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bytes(this.u8());
      case 0xc5:
        return this.bytes(this.u16());
      case 0xc6:
        return this.bytes(this.u32());
      case 0xc7:
        return this.ext(this.u8());
      case 0xc8:
        return this.ext(this.u16());
      case 0xc9:
        return this.ext(this.u32());
      case 0xca:
        this.need(4);
        v = buf.readFloatBE(this.offset);
        this.offset += 4;
        return v;
      case 0xcb:
        this.need(8);
        v = buf.readDoubleBE(this.offset);
        this.offset += 8;
        return v;
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        this.need(8);
        v = buf.readUInt32BE(this.offset) * TWO_32 + buf.readUInt32BE(this.offset + 4);
        this.offset += 8;
        return v;
      case 0xd0:
        this.need(1);
        return buf.readInt8(this.offset++);
      case 0xd1:
        this.need(2);
        v = buf.readInt16BE(this.offset);
        this.offset += 2;
        return v;
      case 0xd2:
        this.need(4);
        v = buf.readInt32BE(this.offset);
        this.offset += 4;
        return v;
      case 0xd3:
        this.need(8);
        v = buf.readInt32BE(this.offset) * TWO_32 + buf.readUInt32BE(this.offset + 4);
        this.offset += 8;
        return v;
      case 0xd4:
        return this.ext(1);
      case 0xd5:
        return this.ext(2);
      case 0xd6:
        return this.ext(4);
      case 0xd7:
        return this.ext(8);
      case 0xd8:
        return this.ext(16);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16());
      case 0xdd:
        return this.array(this.u32());
      case 0xde:
        return this.map(this.u16());
      case 0xdf:
        return this.map(this.u32());
      default:
        throw new MsgpackError(`invalid type byte 0x${b.toString(16)} at offset ${this.offset - 1}`);
    }
  }

  ext(length: number): unknown {
    this.need(1);
    const type = this.buf.readInt8(this.offset++);
    const data = this.bytes(length);
    if (type === -1) return readTimestamp(data);
    if (type === 0) {
      // notepack's legacy extensions.
      if (length === 1) return undefined;
      if (length === 8) return new Date(data.readInt32BE(0) * TWO_32 + data.readUInt32BE(4));
      const copy = new ArrayBuffer(length);
      new Uint8Array(copy).set(data);
      return copy;
    }
    return [type, data];
  }

  enter(length: number, minBytesEach: number): void {
    if (++this.depth > MAX_DEPTH) throw new MsgpackError(`input nested deeper than ${MAX_DEPTH} levels`);
    // Every element takes at least one byte: a forged length cannot make us allocate.
    if (length * minBytesEach > this.buf.length - this.offset) {
      throw new MsgpackError(`truncated input: ${length} elements announced at offset ${this.offset}`);
    }
  }

  array(length: number): unknown[] {
    this.enter(length, 1);
    const out = new Array(length);
    for (let i = 0; i < length; i++) out[i] = this.value();
    this.depth--;
    return out;
  }

  map(length: number): Record<string, unknown> {
    this.enter(length, 2);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.value();
      if (typeof key !== "string" && typeof key !== "number") {
        throw new MsgpackError(`map key of type ${key === null ? "null" : typeof key} at offset ${this.offset}`);
      }
      const k = String(key);
      const v = this.value();
      // A "__proto__" key is data, never a prototype change.
      if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    this.depth--;
    return out;
  }
}

function readTimestamp(data: Buffer): Date {
  switch (data.length) {
    case 4:
      return new Date(data.readUInt32BE(0) * 1000);
    case 8: {
      const hi = data.readUInt32BE(0);
      const nsec = Math.floor(hi / 4);
      const sec = (hi & 0x3) * TWO_32 + data.readUInt32BE(4);
      return new Date(sec * 1000 + nsec / 1e6);
    }
    case 12: {
      const nsec = data.readUInt32BE(0);
      const sec = data.readInt32BE(4) * TWO_32 + data.readUInt32BE(8);
      return new Date(sec * 1000 + nsec / 1e6);
    }
    default:
      throw new MsgpackError(`timestamp extension of invalid length ${data.length}`);
  }
}

/** Decodes exactly one MessagePack document; trailing bytes are an error. */
export function decode(input: Uint8Array): unknown {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length === 0) throw new MsgpackError("empty input");
  const reader = new Reader(buf);
  const value = reader.value();
  if (reader.offset !== buf.length) {
    throw new MsgpackError(`${buf.length - reader.offset} trailing byte(s) after the document`);
  }
  return value;
}
