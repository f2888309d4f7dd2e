import { randomBytes } from "node:crypto";

// 15 bytes -> 20 base64url characters: 12 random bytes and a 3-byte
// per-process sequence number, so ids are unguessable and never repeat within
// a process. Several cluster tools assume the length 20.
const POOL_SIZE = 12 * 256;
let pool = Buffer.alloc(0);
let poolOffset = POOL_SIZE;
let sequence = Math.floor(Math.random() * 0xffffff);

function nextRandom(buf: Buffer): void {
  if (poolOffset >= POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  pool.copy(buf, 0, poolOffset, poolOffset + 12);
  poolOffset += 12;
}

export function generateId(): string {
  const buf = Buffer.allocUnsafe(15);
  nextRandom(buf);
  sequence = (sequence + 1) & 0xffffff;
  buf.writeUIntBE(sequence, 12, 3);
  return buf.toString("base64url");
}

/**
 * A session id that names its node (see core/routing.ts): 14 random
 * base64url characters (84 bits; socket.io's ids carry 88) and the node's
 * 6-character tag.
 */
export function generateTaggedId(tag: string): string {
  const buf = Buffer.allocUnsafe(12);
  nextRandom(buf);
  return buf.toString("base64url").slice(0, 14) + tag;
}

/** A random node tag: 6 base64url characters (36 bits). */
export function generateTag(): string {
  return randomBytes(6).toString("base64url").slice(0, 6);
}
