/**
 * A single-pass JSON writer for the common shape of event arguments: arrays,
 * plain objects, strings, numbers, booleans and null, a few levels deep.
 * In the same walk it notices binary values, so an event without binary is
 * serialized without the separate "has binary?" pass socket.io-parser makes.
 *
 * Invariant: when it returns a string, that string is byte-for-byte what
 * `JSON.stringify(value)` returns. Anything whose serialization it does not
 * reproduce exactly (toJSON methods, class instances, Dates, boxed
 * primitives, bigints, deep or large values) makes it give up with
 * NOT_SIMPLE, and the caller falls back to the general path.
 */
import { isBinary } from "./binary.js";

/** The value is outside the simple shape; use the general path. */
export const NOT_SIMPLE = 0;
/** The walk met a binary value (which socket.io-parser's hasBinary would find too). */
export const HAS_BINARY = 1;
export type FastJsonResult = string | typeof NOT_SIMPLE | typeof HAS_BINARY;

/** Past this depth the general path (native JSON.stringify) is used. */
const MAX_DEPTH = 16;
/** Past this many values the native JSON.stringify is faster than a walk in JS. */
const MAX_NODES = 256;
/** Longer strings are escaped by JSON.stringify, which scans natively. */
const MAX_SCANNED_STRING = 48;

const OBJECT_PROTOTYPE = Object.prototype;
const getPrototypeOf = Object.getPrototypeOf;
const ownKeys = Object.keys;

let budget = 0;

/** A JSON string literal for `s`, identical to JSON.stringify(s). */
function quote(s: string): string {
  const n = s.length;
  if (n > MAX_SCANNED_STRING) return JSON.stringify(s);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Characters JSON.stringify escapes: controls, `"`, `\` and (lone) surrogates.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/** Values JSON.stringify leaves out of objects and writes as null in arrays. */
function isSkipped(v: unknown): boolean {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

function write(v: unknown, depth: number): FastJsonResult {
  if (--budget < 0) return NOT_SIMPLE;
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      // JSON writes finite numbers as Number#toString does (-0 as "0") and the others as null.
      return Number.isFinite(v) ? "" + v : "null";
    case "boolean":
      return v ? "true" : "false";
    case "object":
      break;
    default:
      return NOT_SIMPLE;
  }
  if (v === null) return "null";
  if (depth >= MAX_DEPTH) return NOT_SIMPLE;
  const o = v as any;
  if (Array.isArray(o)) {
    // JSON.stringify honours toJSON on arrays too.
    if (typeof (o as { toJSON?: unknown }).toJSON === "function") return NOT_SIMPLE;
    let out = "[";
    for (let i = 0, n = o.length; i < n; i++) {
      const e = o[i];
      let s: FastJsonResult;
      if (isSkipped(e)) {
        s = "null";
      } else {
        s = write(e, depth + 1);
        if (typeof s !== "string") return s;
      }
      if (i !== 0) out += ",";
      out += s;
    }
    return out + "]";
  }
  const proto = getPrototypeOf(o);
  if (proto !== OBJECT_PROTOTYPE && proto !== null) return isBinary(o) ? HAS_BINARY : NOT_SIMPLE;
  if (typeof o.toJSON === "function") return NOT_SIMPLE;
  const keys = ownKeys(o);
  let out = "{";
  let first = true;
  for (let i = 0, n = keys.length; i < n; i++) {
    const key = keys[i]!;
    const e = o[key];
    if (isSkipped(e)) continue;
    const s = write(e, depth + 1);
    if (typeof s !== "string") return s;
    if (first) first = false;
    else out += ",";
    out += quote(key) + ":" + s;
  }
  return out + "}";
}

/**
 * JSON of `value` when it has the simple shape and no binary, HAS_BINARY
 * when a binary value was met, NOT_SIMPLE otherwise.
 */
export function fastJson(value: unknown): FastJsonResult {
  budget = MAX_NODES;
  return write(value, 0);
}
