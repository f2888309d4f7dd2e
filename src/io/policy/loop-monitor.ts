/**
 * Event-loop delay, measured only while `limits.maxEventLoopDelayMs` is set:
 * an unref'd interval timer notes how late it fires. A late firing over the
 * threshold starts shedding for `holdMs`. A handshake also looks at how
 * overdue the next firing is, which catches a loop that is blocked right now
 * (callbacks queued behind a long task run before the timer can fire).
 */
import { performance } from "node:perf_hooks";

export class LoopMonitor {
  readonly #thresholdMs: number;
  readonly #holdMs: number;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #last = 0;
  /** Shedding until then (performance.now() ms). */
  #until = 0;
  /** The largest delay seen by the last sample (ms). */
  lastDelayMs = 0;

  constructor(thresholdMs: number, holdMs: number) {
    this.#thresholdMs = thresholdMs;
    this.#holdMs = holdMs;
    this.#intervalMs = Math.min(50, Math.max(5, Math.floor(thresholdMs / 2)));
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#last = performance.now();
    this.#timer = setInterval(this.#sample, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#until = 0;
  }

  #sample = (): void => {
    const now = performance.now();
    const delay = now - this.#last - this.#intervalMs;
    this.#last = now;
    this.lastDelayMs = delay > 0 ? delay : 0;
    if (delay > this.#thresholdMs) this.#until = now + this.#holdMs;
  };

  /** Whether new handshakes should be shed at `now`. */
  overloaded(now: number): boolean {
    if (this.#timer === null) return false;
    if (now - this.#last - this.#intervalMs > this.#thresholdMs) this.#until = now + this.#holdMs;
    return now < this.#until;
  }

  /** Whether shedding is on now. */
  get shedding(): boolean {
    return this.overloaded(performance.now());
  }

  get retryAfterS(): number {
    return Math.max(1, Math.ceil(this.#holdMs / 1000));
  }
}
