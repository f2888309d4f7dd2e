/**
 * A single-pass JSON writer for the common shape of event arguments: arrays,
 * plain objects, strings, numbers, booleans, null and binary values, a few
 * levels deep. Binary values are written as placeholders and collected in
 * the same walk, so an event is encoded without the separate "has binary?"
 * pass and the placeholder copy socket.io-parser makes.
 *
 * Invariant: when it returns a string, that string is byte-for-byte what
 * `JSON.stringify(deconstruct(value).data)` returns, with the same
 * attachments in the same order (and, without binary, what
 * `JSON.stringify(value)` returns). Anything whose serialization it does not
 * reproduce exactly (toJSON methods, class instances, Dates, boxed
 * primitives, bigints, deep or large values) makes it give up with
 * NOT_SIMPLE, and the caller takes the general path.
 */
import { isBinary, toBuffer } from "./binary.js";

/** The value is outside the simple shape; use the general path. */
export const NOT_SIMPLE = 0;
export type FastJsonResult = string | typeof NOT_SIMPLE;

/** Past this depth the general path is used. */
const MAX_DEPTH = 16;
/**
 * Larger values go to the general path: there the native JSON.stringify
 * outruns a walk in JS by more than the separate binary search costs. An
 * array's length is checked before its elements are walked, so giving up on
 * a large array wastes almost nothing.
 */
const MAX_ENTRIES = 32;
const MAX_NODES = 128;
/** Longer strings are escaped by JSON.stringify, which scans natively. */
const MAX_SCANNED_STRING = 48;

const OBJECT_PROTOTYPE = Object.prototype;
const getPrototypeOf = Object.getPrototypeOf;

/** State of the current call; the walk is synchronous and never re-entered. */
let budget = 0;
/**
 * Between calls: an empty list, so that no caller's array is kept alive (a
 * call that throws, e.g. from a getter, leaves its list until the next call;
 * try/finally here costs ~5% of a small event's encoding).
 */
const NO_BUFFERS: Buffer[] = [];
let attachments: Buffer[] = NO_BUFFERS;

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

/** Writes `v`; the caller has already charged it to the budget. */
function write(v: unknown, depth: number): FastJsonResult {
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
    const n = o.length;
    if (n > MAX_ENTRIES || (budget -= n) < 0) return NOT_SIMPLE;
    // JSON.stringify honours toJSON on arrays too.
    if (typeof (o as { toJSON?: unknown }).toJSON === "function") return NOT_SIMPLE;
    let out = "[";
    for (let i = 0; i < n; i++) {
      const e = o[i];
      let s: FastJsonResult;
      if (isSkipped(e)) {
        s = "null";
      } else {
        s = write(e, depth + 1);
        if (s === NOT_SIMPLE) return s;
      }
      // Joining the small pieces first keeps the result's rope shallow (cheaper to flatten).
      out += i === 0 ? s : "," + s;
    }
    return out + "]";
  }
  const proto = getPrototypeOf(o);
  if (proto !== OBJECT_PROTOTYPE && proto !== null) {
    if (!isBinary(o)) return NOT_SIMPLE;
    attachments.push(toBuffer(o));
    return '{"_placeholder":true,"num":' + (attachments.length - 1) + "}";
  }
  if (typeof o.toJSON === "function") return NOT_SIMPLE;
  let out = "{";
  let first = true;
  let entries = 0;
  // With a clean Object.prototype (checked by fastJson), for...in lists exactly
  // the own enumerable string keys, in the order JSON.stringify uses.
  for (const key in o) {
    if (++entries > MAX_ENTRIES || --budget < 0) return NOT_SIMPLE;
    const e = o[key];
    if (isSkipped(e)) continue;
    const s = write(e, depth + 1);
    if (s === NOT_SIMPLE) return s;
    if (first) {
      first = false;
      out += quote(key) + ":" + s;
    } else {
      out += "," + quote(key) + ":" + s;
    }
  }
  return out + "}";
}

/**
 * JSON of `value` with binary values replaced by placeholders, the binary
 * values being appended to `buffers` in placeholder order; NOT_SIMPLE when
 * the value is outside the simple shape (then `buffers` may hold a partial
 * list, to be discarded).
 */
export function fastJson(value: unknown, buffers: Buffer[]): FastJsonResult {
  // An enumerable property on Object.prototype (a polluted or patched
  // prototype) would show up in for...in but not in JSON.stringify.
  for (const _ in OBJECT_PROTOTYPE) return NOT_SIMPLE;
  budget = MAX_NODES - 1;
  attachments = buffers;
  const out = write(value, 0);
  attachments = NO_BUFFERS;
  return out;
}
