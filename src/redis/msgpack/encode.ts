/**
 * MessagePack encoding (format rules in ./index.ts). Writes into one
 * growable scratch buffer and copies the result out, so encoding a message
 * allocates its output and nothing per value.
 */
import { MAX_DEPTH, MsgpackError, TWO_32 } from "./errors.js";

const TIMESTAMP32_MAX_SEC = 0xffffffff;
const TIMESTAMP64_MAX_SEC = 0x3ffffffff;

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
