/**
 * A small MessagePack codec for the messages Redis carries between nodes.
 *
 * Wire rules follow the MessagePack spec, with the choices the official
 * Socket.IO Redis adapter and emitter make (they use the notepack.io package),
 * so that mixed clusters understand each other:
 * - binary (Buffer, typed arrays, ArrayBuffer) travels as `bin` raw bytes and
 *   decodes as a Buffer that shares the received message's memory;
 * - `undefined` encodes as nil; object keys whose value is `undefined` or a
 *   function are left out (as JSON.stringify does);
 * - integers within ±2^53 use the smallest int format, every other number
 *   (fractions, NaN, ±Infinity) is a float 64;
 * - a Date is a timestamp extension (type -1); an object with `toJSON()` is
 *   encoded as what `toJSON()` returns;
 * - decoding also accepts notepack's legacy extensions: fixext 1 of type 0 is
 *   `undefined`, ext of type 0 is an ArrayBuffer, fixext 8 of type 0 a Date
 *   in milliseconds; any other extension decodes as `[type, Buffer]`.
 *
 * Decoding hostile input throws a MsgpackError (never a RangeError from deep
 * recursion, never a huge allocation from a forged length).
 */

/** Thrown for input that is not valid MessagePack or values that cannot be encoded. */
export class MsgpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MsgpackError";
  }
}

/**
 * Deepest nesting of arrays and maps accepted by both directions. Socket.IO
 * payloads are shallow; the bound keeps recursion far from the stack limit.
 */
export const MAX_DEPTH = 512;

const TIMESTAMP32_MAX_SEC = 0xffffffff;
const TIMESTAMP64_MAX_SEC = 0x3ffffffff;
const TWO_32 = 0x100000000;

// ---- encoding -------------------------------------------------------------

/**
 * The encoder writes into one growable scratch buffer and copies the result
 * out, so encoding a message allocates its output and nothing per value.
 */
const SCRATCH_KEEP = 1 << 20;
let scratch = Buffer.allocUnsafe(8192);
let pos = 0;
let depth = 0;

function ensure(n: number): void {
  if (pos + n <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  scratch.copy(bigger, 0, 0, pos);
  scratch = bigger;
}

function u8(v: number): void {
  scratch[pos++] = v;
}

function u16(v: number): void {
  scratch.writeUInt16BE(v, pos);
  pos += 2;
}

function u32(v: number): void {
  scratch.writeUInt32BE(v, pos);
  pos += 4;
}

function writeInt(value: number): void {
  ensure(9);
  if (value >= 0) {
    if (value < 0x80) u8(value);
    else if (value < 0x100) {
      u8(0xcc);
      u8(value);
    } else if (value < 0x10000) {
      u8(0xcd);
      u16(value);
    } else if (value < TWO_32) {
      u8(0xce);
      u32(value);
    } else {
      u8(0xcf);
      u32(Math.floor(value / TWO_32));
      u32(value >>> 0);
    }
    return;
  }
  if (value >= -0x20) u8(value & 0xff);
  else if (value >= -0x80) {
    u8(0xd0);
    scratch.writeInt8(value, pos++);
  } else if (value >= -0x8000) {
    u8(0xd1);
    scratch.writeInt16BE(value, pos);
    pos += 2;
  } else if (value >= -0x80000000) {
    u8(0xd2);
    scratch.writeInt32BE(value, pos);
    pos += 4;
  } else {
    u8(0xd3);
    const hi = Math.floor(value / TWO_32);
    scratch.writeInt32BE(hi, pos);
    scratch.writeUInt32BE(value - hi * TWO_32, pos + 4);
    pos += 8;
  }
}

function writeNumber(value: number): void {
  if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
    writeInt(value);
    return;
  }
  ensure(9);
  u8(0xcb);
  scratch.writeDoubleBE(value, pos);
  pos += 8;
}

function writeString(value: string): void {
  // At most 3 bytes per UTF-16 unit; write first, then fix the header size.
  const max = value.length * 3;
  ensure(5 + max);
  const headerSize = max < 0x20 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  const start = pos + headerSize;
  const length = scratch.write(value, start, "utf8");
  if (length < 0x20 && headerSize === 1) {
    scratch[pos] = 0xa0 | length;
    pos = start + length;
    return;
  }
  // Choose the smallest header for the actual length and move the bytes if needed.
  const needed = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  if (needed !== headerSize) scratch.copy(scratch, pos + needed, start, start + length);
  if (needed === 1) scratch[pos] = 0xa0 | length;
  else if (needed === 2) {
    scratch[pos] = 0xd9;
    scratch[pos + 1] = length;
  } else if (needed === 3) {
    scratch[pos] = 0xda;
    scratch.writeUInt16BE(length, pos + 1);
  } else {
    scratch[pos] = 0xdb;
    scratch.writeUInt32BE(length, pos + 1);
  }
  pos += needed + length;
}

function writeBinary(bytes: Uint8Array): void {
  const length = bytes.length;
  ensure(5 + length);
  if (length < 0x100) {
    u8(0xc4);
    u8(length);
  } else if (length < 0x10000) {
    u8(0xc5);
    u16(length);
  } else {
    u8(0xc6);
    u32(length);
  }
  scratch.set(bytes, pos);
  pos += length;
}

function writeDate(date: Date): void {
  const ms = date.getTime();
  if (Number.isNaN(ms)) {
    // What JSON would send for an invalid date.
    ensure(1);
    u8(0xc0);
    return;
  }
  const sec = Math.floor(ms / 1000);
  const nsec = (ms - sec * 1000) * 1e6;
  ensure(15);
  if (sec >= 0 && sec <= TIMESTAMP64_MAX_SEC) {
    if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) {
      u8(0xd6);
      u8(0xff);
      u32(sec);
    } else {
      u8(0xd7);
      u8(0xff);
      // 30 bits of nanoseconds, then 34 bits of seconds.
      u32(nsec * 4 + Math.floor(sec / TWO_32));
      u32(sec >>> 0);
    }
    return;
  }
  u8(0xc7);
  u8(12);
  u8(0xff);
  u32(nsec);
  const hi = Math.floor(sec / TWO_32);
  scratch.writeInt32BE(hi, pos);
  scratch.writeUInt32BE(sec - hi * TWO_32, pos + 4);
  pos += 8;
}

function writeArrayHeader(length: number): void {
  ensure(5);
  if (length < 0x10) u8(0x90 | length);
  else if (length < 0x10000) {
    u8(0xdc);
    u16(length);
  } else {
    u8(0xdd);
    u32(length);
  }
}

function writeMapHeader(length: number): void {
  ensure(5);
  if (length < 0x10) u8(0x80 | length);
  else if (length < 0x10000) {
    u8(0xde);
    u16(length);
  } else {
    u8(0xdf);
    u32(length);
  }
}

function writeValue(value: unknown): void {
  switch (typeof value) {
    case "string":
      writeString(value);
      return;
    case "number":
      writeNumber(value);
      return;
    case "boolean":
      ensure(1);
      u8(value ? 0xc3 : 0xc2);
      return;
    case "undefined":
    case "function":
    case "symbol":
      ensure(1);
      u8(0xc0);
      return;
    case "bigint":
      throw new MsgpackError("cannot encode a BigInt: convert it to a string or number first");
    default:
      writeObject(value as object | null);
  }
}

function writeObject(value: object | null): void {
  if (value === null) {
    ensure(1);
    u8(0xc0);
    return;
  }
  if (value instanceof Uint8Array) {
    writeBinary(value);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    writeBinary(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return;
  }
  if (value instanceof ArrayBuffer) {
    writeBinary(new Uint8Array(value));
    return;
  }
  if (value instanceof Date) {
    writeDate(value);
    return;
  }
  if (++depth > MAX_DEPTH) {
    throw new MsgpackError(`cannot encode a value nested deeper than ${MAX_DEPTH} levels (or a circular structure)`);
  }
  try {
    if (Array.isArray(value)) {
      const length = value.length;
      writeArrayHeader(length);
      for (let i = 0; i < length; i++) writeValue(value[i]);
      return;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      writeValue(toJSON.call(value));
      return;
    }
    const keys = Object.keys(value);
    let count = 0;
    for (let i = 0; i < keys.length; i++) {
      const v = (value as Record<string, unknown>)[keys[i]];
      if (v !== undefined && typeof v !== "function") count++;
    }
    writeMapHeader(count);
    for (let i = 0; i < keys.length; i++) {
      const v = (value as Record<string, unknown>)[keys[i]];
      if (v === undefined || typeof v === "function") continue;
      writeString(keys[i]);
      writeValue(v);
    }
  } finally {
    depth--;
  }
}

/** Encodes a value as one MessagePack document. */
export function encode(value: unknown): Buffer {
  pos = 0;
  depth = 0;
  try {
    writeValue(value);
    const out = Buffer.allocUnsafe(pos);
    scratch.copy(out, 0, 0, pos);
    return out;
  } finally {
    if (scratch.length > SCRATCH_KEEP) scratch = Buffer.allocUnsafe(8192);
    pos = 0;
  }
}

// ---- decoding -------------------------------------------------------------

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

/** The codec as the `parser` option expects it. */
export const msgpackParser = { encode, decode };
