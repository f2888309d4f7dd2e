/**
 * Binary attachments of Socket.IO packets (protocol §12): detection,
 * deconstruction into placeholders + buffers, and reconstruction.
 *
 * Every walk here is iterative with an explicit stack of frames, so a value
 * nested 200,000 levels deep costs memory proportional to its depth but
 * never overflows the call stack.
 */
import { ErrorCodes, ParseError, TidewireError } from "../../core/errors.js";

/** What socket.io treats as binary: an ArrayBuffer or any view of one (Buffer, typed arrays, DataView). */
export type BinaryValue = ArrayBuffer | ArrayBufferView;

/** A placeholder standing for attachment `num` in the JSON of a binary packet. */
export interface Placeholder {
  _placeholder: true;
  num: number;
}

export function isBinary(value: unknown): value is BinaryValue {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** The bytes of a binary value as a Buffer, without copying. */
export function toBuffer(value: BinaryValue): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(value);
}

/** Own enumerable string keys, as `for...in` + `hasOwnProperty` (and JSON.stringify) see them. */
const ownKeys = Object.keys;

/**
 * Assigns a property without ever invoking the `__proto__` setter: an own
 * `__proto__` key coming from JSON.parse must stay an ordinary own property.
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** One container being walked: its keys (null for an array) and the next position. */
interface Frame {
  src: any;
  dst: any;
  keys: string[] | null;
  i: number;
  n: number;
}

function frame(src: any, dst: any): Frame {
  const keys = Array.isArray(src) ? null : ownKeys(src);
  return { src, dst, keys, i: 0, n: keys === null ? src.length : keys.length };
}

function circular(): TidewireError {
  return new TidewireError(
    ErrorCodes.UNSUPPORTED,
    "Cannot encode the packet: its data contains a circular reference. Send a structure without cycles.",
  );
}

/**
 * Whether a value contains binary anywhere (socket.io-parser semantics):
 * arrays are searched element by element, binary values match, an object
 * with a `toJSON()` method is replaced by its result once (the result's own
 * `toJSON` is not followed, its children's are), other objects are searched
 * through their own enumerable properties. Shared sub-objects are searched
 * once, and a cycle ends the search instead of looping.
 */
export function hasBinary(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const seen = new Set<object>();
  const stack: object[] = [];
  // Pushes the children of `node` that may hold binary; true if `node` is binary.
  const expand = (node: any, followToJSON: boolean): boolean => {
    if (Array.isArray(node)) {
      for (let i = 0, n = node.length; i < n; i++) {
        const child = node[i];
        if (typeof child === "object" && child !== null) stack.push(child);
      }
      return false;
    }
    if (isBinary(node)) return true;
    if (followToJSON && typeof node.toJSON === "function") {
      const replaced = node.toJSON();
      return typeof replaced === "object" && replaced !== null && expand(replaced, false);
    }
    const keys = ownKeys(node);
    for (let i = 0, n = keys.length; i < n; i++) {
      const child = node[keys[i]!];
      if (typeof child === "object" && child !== null) stack.push(child);
    }
    return false;
  };
  stack.push(value);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (expand(node, true)) return true;
  }
  return false;
}

/** The result of {@link deconstruct}. */
export interface Deconstructed {
  /** A copy of the input in which every binary value is a {@link Placeholder}. */
  data: unknown;
  /** The binary values, attachment `n` at index `n`. */
  buffers: Buffer[];
}

/**
 * Copies `data`, replacing every binary value by `{"_placeholder":true,"num":n}`
 * with n counting in depth-first order (arrays by index, objects by own key
 * order), and collects the binary values as Buffers. As socket.io-parser
 * 4.2.7 does, an object with `toJSON()` is replaced by its result once and
 * Dates are kept as they are. Throws a TidewireError on a circular structure.
 */
export function deconstruct(data: unknown): Deconstructed {
  const buffers: Buffer[] = [];
  const stack: Frame[] = [];
  const onPath = new Set<object>();
  const open = (src: object, dst: object): object => {
    if (onPath.has(src)) throw circular();
    onPath.add(src);
    stack.push(frame(src, dst));
    return dst;
  };
  const convert = (value: any, followToJSON: boolean): unknown => {
    if (!value || typeof value !== "object") return value;
    if (isBinary(value)) {
      const placeholder: Placeholder = { _placeholder: true, num: buffers.length };
      buffers.push(toBuffer(value));
      return placeholder;
    }
    if (Array.isArray(value)) return open(value, new Array(value.length));
    if (value instanceof Date) return value;
    if (followToJSON && typeof value.toJSON === "function") return convert(value.toJSON(), false);
    return open(value, {});
  };
  const result = convert(data, true);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.n) {
      stack.pop();
      onPath.delete(top.src);
      continue;
    }
    const i = top.i++;
    if (top.keys === null) {
      top.dst[i] = convert(top.src[i], true);
    } else {
      const key = top.keys[i]!;
      setOwn(top.dst, key, convert(top.src[key], true));
    }
  }
  return { data: result, buffers };
}

/**
 * The attachment a placeholder designates, or undefined when `value` is not
 * a placeholder (`_placeholder` not an own property equal to `true`).
 * A placeholder must be exactly `{"_placeholder":true,"num":n}` with n an
 * integer in 0..buffers.length-1; anything else is a ParseError.
 */
function attachmentOf(value: any, buffers: readonly Buffer[]): Buffer | undefined {
  if (!Object.hasOwn(value, "_placeholder") || value._placeholder !== true) return undefined;
  const num = value.num;
  if (ownKeys(value).length !== 2 || !Object.hasOwn(value, "num")) {
    throw new ParseError("illegal attachments: a placeholder must be exactly {\"_placeholder\":true,\"num\":<n>}");
  }
  if (!Number.isInteger(num) || num < 0 || num >= buffers.length) {
    throw new ParseError(`illegal attachments: placeholder num ${String(num)} is not in 0..${buffers.length - 1}`);
  }
  return buffers[num];
}

/**
 * Puts attachment n where placeholder `num: n` is, in place, and returns
 * the result (a placeholder at the root is replaced by its buffer). Meant
 * for decoded JSON; a circular structure is a ParseError.
 */
export function reconstruct(data: unknown, buffers: readonly Buffer[]): unknown {
  if (typeof data !== "object" || data === null) return data;
  if (!Array.isArray(data)) {
    const root = attachmentOf(data, buffers);
    if (root !== undefined) return root;
  }
  const onPath = new Set<object>([data]);
  const stack: Frame[] = [frame(data, data)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.n) {
      stack.pop();
      onPath.delete(top.src);
      continue;
    }
    const i = top.i++;
    const key = top.keys === null ? i : top.keys[i]!;
    const child = top.src[key];
    if (typeof child !== "object" || child === null) continue;
    if (!Array.isArray(child)) {
      const buffer = attachmentOf(child, buffers);
      if (buffer !== undefined) {
        // `key` is an existing own data property (even "__proto__" from JSON.parse),
        // so this assignment replaces its value and never reaches a setter.
        top.src[key] = buffer;
        continue;
      }
    }
    if (onPath.has(child)) throw new ParseError("illegal attachments: circular structure");
    onPath.add(child);
    stack.push(frame(child, child));
  }
  return data;
}
