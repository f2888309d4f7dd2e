import { randomBytes } from "node:crypto";

// 15 bytes -> 20 base64url characters: 12 random bytes and a 3-byte
// per-process sequence number, so ids are unguessable and never repeat within
// a process. Several cluster tools assume the length 20.
const POOL_SIZE = 12 * 256;
let pool = Buffer.alloc(0);
let poolOffset = POOL_SIZE;
let sequence = Math.floor(Math.random() * 0xffffff);

export function generateId(): string {
  if (poolOffset >= POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const buf = Buffer.allocUnsafe(15);
  pool.copy(buf, 0, poolOffset, poolOffset + 12);
  poolOffset += 12;
  sequence = (sequence + 1) & 0xffffff;
  buf.writeUIntBE(sequence, 12, 3);
  return buf.toString("base64url");
}
