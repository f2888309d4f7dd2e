/**
 * A token bucket: `tokens` refill at `perMs` per millisecond up to `burst`;
 * each event takes its cost. Two numbers per bucket; the rate lives in the
 * shared resolved limit, so a bucket is created full and costs nothing more.
 *
 * Invariant: after `take`, `tokens <= burst`; a refused take changes only
 * the refill (nothing is taken). With `debt`, a take succeeds while the
 * bucket is not in debt (tokens >= 0) and may leave it below zero: a cost
 * larger than the burst (a big message) is let through once and paid back.
 */
import type { ResolvedRate } from "./options.js";

export class TokenBucket {
  tokens: number;
  /** When `tokens` was last brought up to date (performance.now() ms). */
  last: number;

  constructor(limit: ResolvedRate, now: number) {
    this.tokens = limit.burst;
    this.last = now;
  }

  /** 0 if `cost` was taken; otherwise how many ms until it could be (at least 1). */
  take(limit: ResolvedRate, now: number, cost: number, debt: boolean): number {
    let tokens = this.tokens + (now - this.last) * limit.perMs;
    if (tokens > limit.burst) tokens = limit.burst;
    this.last = now;
    if (debt ? tokens >= 0 : tokens >= cost) {
      this.tokens = tokens - cost;
      return 0;
    }
    this.tokens = tokens;
    const missing = debt ? -tokens : cost - tokens;
    return Math.max(1, Math.ceil(missing / limit.perMs));
  }

  /** Whether the bucket would be full at `now` (it then holds nothing worth keeping). */
  full(limit: ResolvedRate, now: number): boolean {
    return this.tokens + (now - this.last) * limit.perMs >= limit.burst;
  }
}
