/**
 * A JSON writer with an explicit stack instead of recursion, for values
 * nested more deeply than V8's JSON.stringify can go (it throws RangeError
 * past a few thousand levels, while JSON.parse reads 200,000 levels, so a
 * server echoing what a client sent must be able to write it back).
 *
 * Invariant: for every input, the result (or the exception type) is what
 * `JSON.stringify(value, replacer)` gives, byte for byte; only the depth
 * limit differs. The steps follow the specification's
 * SerializeJSONProperty: Get, then `toJSON(key)`, then the replacer (called
 * on the holder), then unboxing of Number/String/Boolean/BigInt objects.
 * Cycles throw TypeError as JSON.stringify does. Memory is proportional to
 * the depth (one frame per open container), never to the call stack.
 */
import { types } from "node:util";

/** A JSON.stringify replacer function. */
export type JsonReplacerFn = (this: any, key: string, value: any) => any;

/** One open array or object: its members are written one per loop turn. */
interface Frame {
  value: any;
  /** Own enumerable keys, fixed when the object is entered; null for an array. */
  keys: string[] | null;
  n: number;
  i: number;
  /** Objects: whether a member has been written (commas go between members). */
  wrote: boolean;
}

/** Returned by `prepare` for a value that opens a container (its frame was pushed). */
const OPENED = 1;
/** Returned by `prepare` for a value JSON leaves out (undefined, function, symbol). */
const SKIPPED = 2;

const isRawJSON: ((value: unknown) => boolean) | undefined = (JSON as { isRawJSON?: (v: unknown) => boolean })
  .isRawJSON;

/**
 * `JSON.stringify(value, replacer)` without a depth limit: the same string,
 * or undefined where JSON.stringify returns undefined. Throws TypeError for
 * a cycle or a BigInt, and whatever a toJSON method or the replacer throws.
 */
export function stringifyDeep(value: unknown, replacer?: JsonReplacerFn): string | undefined {
  const out: string[] = [];
  const stack: Frame[] = [];
  const onStack = new Set<object>();

  /**
   * Serializes `holder[key]` (already read as `raw`): writes a primitive to
   * `out`, or opens a container and pushes its frame.
   */
  const prepare = (holder: object, key: string, raw: unknown): string | typeof OPENED | typeof SKIPPED => {
    let v: any = raw;
    if ((typeof v === "object" && v !== null) || typeof v === "bigint") {
      const toJSON = v.toJSON;
      if (typeof toJSON === "function") v = toJSON.call(v, key);
    }
    if (replacer !== undefined) v = replacer.call(holder, key, v);
    if (typeof v === "object" && v !== null) {
      if (types.isNumberObject(v)) v = Number(v);
      else if (types.isStringObject(v)) v = String(v);
      else if (types.isBooleanObject(v)) v = Boolean.prototype.valueOf.call(v);
      else if (types.isBigIntObject(v)) v = BigInt.prototype.valueOf.call(v);
    }
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "number":
        return Number.isFinite(v) ? String(v) : "null";
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        throw new TypeError("Do not know how to serialize a BigInt");
      case "object":
        break;
      default:
        return SKIPPED; // undefined, function, symbol
    }
    if (v === null) return "null";
    if (isRawJSON !== undefined && isRawJSON(v)) return (v as { rawJSON: string }).rawJSON;
    if (onStack.has(v)) throw new TypeError("Converting circular structure to JSON");
    onStack.add(v);
    if (Array.isArray(v)) {
      stack.push({ value: v, keys: null, n: v.length, i: 0, wrote: false });
      out.push("[");
    } else {
      const keys = Object.keys(v);
      stack.push({ value: v, keys, n: keys.length, i: 0, wrote: false });
      out.push("{");
    }
    return OPENED;
  };

  const root = prepare({ "": value }, "", value);
  if (root === SKIPPED) return undefined;
  if (root !== OPENED) return root;

  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.n) {
      stack.pop();
      onStack.delete(top.value);
      out.push(top.keys === null ? "]" : "}");
      continue;
    }
    const i = top.i++;
    if (top.keys === null) {
      if (i > 0) out.push(",");
      const key = String(i);
      const r = prepare(top.value, key, top.value[key]);
      if (r === SKIPPED) out.push("null");
      else if (r !== OPENED) out.push(r);
    } else {
      const key = top.keys[i]!;
      // The separator and the key are written before the member is prepared
      // (prepare may open a container), and taken back if the member is skipped.
      const mark = out.length;
      out.push((top.wrote ? "," : "") + JSON.stringify(key) + ":");
      const r = prepare(top.value, key, top.value[key]);
      if (r === SKIPPED) {
        out.length = mark;
        continue;
      }
      top.wrote = true;
      if (r !== OPENED) out.push(r);
    }
  }
  return out.join("");
}
