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
import { decode } from "./decode.js";
import { encode } from "./encode.js";

export { decode, encode };
export { MAX_DEPTH, MsgpackError } from "./errors.js";

/** The codec as the `parser` option expects it. */
export const msgpackParser = { encode, decode };
