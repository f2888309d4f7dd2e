/** Errors and bounds shared by the MessagePack encoder and decoder. */

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

/** 2^32, for 64-bit integers and timestamps split into two 32-bit halves. */
export const TWO_32 = 0x100000000;
