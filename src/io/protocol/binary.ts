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

/**
 * Cycle detection costs a Set operation per container, so walks start it
 * lazily: a cyclic structure makes a depth-first path (or a search's visit
 * count) grow without end, so it always crosses this threshold and is then
 * caught within one more turn of the cycle.
 */
const CYCLE_CHECK_AFTER = 1000;

/**
 * The objects on the current path of a depth-first walk. Created once the
 * path is deeper than CYCLE_CHECK_AFTER, from the frames already on it.
 */
class PathGuard {
  readonly #onPath: Set<object>;

  constructor(stack: readonly Frame[]) {
    this.#onPath = new Set();
    for (let i = 0; i < stack.length - 1; i++) this.#onPath.add(stack[i]!.src);
  }

  /** Records the container just pushed; false if it is already on the path. */
  enter(src: object): boolean {
    if (this.#onPath.has(src)) return false;
    this.#onPath.add(src);
    return true;
  }

  leave(src: object): void {
    this.#onPath.delete(src);
  }
}

/**
 * Called after a frame was pushed. Past CYCLE_CHECK_AFTER levels it starts a
 * guard and from then on checks that each pushed container is not already
 * on the path. Returns the guard to use from now on.
 */
function guardPath(stack: readonly Frame[], guard: PathGuard | null, onCycle: () => Error): PathGuard | null {
  if (guard === null) {
    if (stack.length <= CYCLE_CHECK_AFTER) return null;
    guard = new PathGuard(stack);
  }
  if (!guard.enter(stack[stack.length - 1]!.src)) throw onCycle();
  return guard;
}

function circular(): TidewireError {
  return new TidewireError(
    ErrorCodes.UNSUPPORTED,
    "Cannot encode the packet: its data contains a circular reference. Send a structure without cycles.",
  );
}

/** Pushes the object children of `node` onto `stack`; true if `node` itself is binary. */
function expand(node: any, followToJSON: boolean, stack: object[]): boolean {
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
    return typeof replaced === "object" && replaced !== null && expand(replaced, false, stack);
  }
  const keys = ownKeys(node);
  for (let i = 0, n = keys.length; i < n; i++) {
    const child = node[keys[i]!];
    if (typeof child === "object" && child !== null) stack.push(child);
  }
  return false;
}

/**
 * Whether a value contains binary anywhere (socket.io-parser semantics):
 * arrays are searched element by element, binary values match, an object
 * with a `toJSON()` method is replaced by its result once (the result's own
 * `toJSON` is not followed, its children's are), other objects are searched
 * through their own enumerable properties. Past CYCLE_CHECK_AFTER objects,
 * each object is searched once, so cycles and heavily shared structures end.
 */
export function hasBinary(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: object[] = [value];
  let seen: Set<object> | null = null;
  let visits = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen !== null) {
      if (seen.has(node)) continue;
      seen.add(node);
    } else if (++visits > CYCLE_CHECK_AFTER) {
      seen = new Set([node]);
    }
    if (expand(node, true, stack)) return true;
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
 * The replacement of one value in the copy: itself, a placeholder, or a new
 * empty container whose frame is pushed to be filled.
 */
function copyOf(value: any, followToJSON: boolean, buffers: Buffer[], stack: Frame[]): unknown {
  if (!value || typeof value !== "object") return value;
  if (isBinary(value)) {
    const placeholder: Placeholder = { _placeholder: true, num: buffers.length };
    buffers.push(toBuffer(value));
    return placeholder;
  }
  let dst: object;
  if (Array.isArray(value)) {
    // Filled in index order, so it stays a packed array (JSON.stringify is faster on those than on holey ones).
    dst = [];
  } else if (value instanceof Date) {
    return value;
  } else if (followToJSON && typeof value.toJSON === "function") {
    return copyOf(value.toJSON(), false, buffers, stack);
  } else {
    dst = {};
  }
  stack.push(frame(value, dst));
  return dst;
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
  let guard: PathGuard | null = null;
  const result = copyOf(data, true, buffers, stack);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.n) {
      stack.pop();
      guard?.leave(top.src);
      continue;
    }
    const i = top.i++;
    const depth = stack.length;
    if (top.keys === null) {
      top.dst[i] = copyOf(top.src[i], true, buffers, stack);
    } else {
      const key = top.keys[i]!;
      setOwn(top.dst, key, copyOf(top.src[key], true, buffers, stack));
    }
    if (stack.length > depth) guard = guardPath(stack, guard, circular);
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
  let guard: PathGuard | null = null;
  const stack: Frame[] = [frame(data, data)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.n) {
      stack.pop();
      guard?.leave(top.src);
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
    stack.push(frame(child, child));
    guard = guardPath(stack, guard, reconstructCycle);
  }
  return data;
}

function reconstructCycle(): ParseError {
  return new ParseError("illegal attachments: circular structure");
}
