/**
 * Shared timers: one list per distinct delay, one Node timer per list.
 *
 * Thousands of sessions with the same pingInterval share one Node timer, and
 * an entry costs four fields on an object that already exists (a session, a
 * connection) instead of a Timeout object per timer per session.
 *
 * Invariants:
 * - Every entry of a list was armed with the list's delay on a monotonic
 *   clock, so appending keeps a list in deadline order: arm and disarm are O(1).
 * - Delays are whole milliseconds, rounded up (at least 1, as Node's
 *   setTimeout), so that fractional delays share lists: an entry never fires
 *   before `arm time + delay`, and at most 1 ms plus the list's window (plus
 *   event-loop latency) after. The window, coalescingWindow(delay), is 0
 *   below 128 ms and 1/128 of the delay above, at most 40 ms: entries due
 *   within one window fire together (thousands of heartbeats armed at
 *   different times fire in a few dozen batches per interval instead of one
 *   wake-up per millisecond each).
 * - A list that is not firing and has entries has a Node timer due no later
 *   than its head's deadline (earlier is harmless: the fire finds nothing due
 *   and re-arms for the head). While a list fires, entries armed by callbacks
 *   are only appended; the fire re-arms the Node timer for the head once its
 *   walk is over.
 * - A list is in the registry exactly while it has entries or is firing: an
 *   emptied list is released at once, or at the end of its fire.
 * - Node timers take at most 2^31-1 ms (a longer delay would become 1 ms with
 *   a warning): longer delays are reached in steps of at most that. An entry
 *   armed with Infinity never fires, so nothing is kept for it.
 *
 * The list fields are symbol-keyed and typed only here, so they stay out of
 * the published declarations and out of users' property listings.
 */

/** The largest delay a Node timer takes. */
const TIMEOUT_MAX = 2 ** 31 - 1;
/** The longest a list's entries may wait past their deadline to fire with others. */
const MAX_WINDOW = 40;

/** How long past its deadline an entry of a list of `delay` (whole ms) may fire, to fire with others. */
export function coalescingWindow(delay: number): number {
  return delay < 128 ? 0 : Math.min(Math.floor(delay / 128), MAX_WINDOW);
}

const kPrev = Symbol("tidewire.timerPrev");
const kNext = Symbol("tidewire.timerNext");
const kDeadline = Symbol("tidewire.timerDeadline");
const kList = Symbol("tidewire.timerList");

export interface TimerEntry {
  /** Called once when the deadline passes; the entry is already disarmed. */
  onTimeout(): void;
}

/** A TimerEntry as the lists see it. */
interface Linked extends TimerEntry {
  [kPrev]: Linked | null;
  [kNext]: Linked | null;
  /** performance.now() at which the entry is due. */
  [kDeadline]: number;
  [kList]: TimerList | null | undefined;
}

/**
 * Gives `entry` its (unarmed) list fields: call it in the constructor of a
 * class whose instances are armed later, so they keep one shape.
 */
export function initTimerEntry(entry: TimerEntry): void {
  const e = entry as Linked;
  e[kPrev] = null;
  e[kNext] = null;
  e[kDeadline] = 0;
  e[kList] = null;
}

function rethrow(err: unknown): never {
  throw err;
}

class TimerList {
  readonly delay: number;
  readonly #window: number;
  #head: Linked | null = null;
  #tail: Linked | null = null;
  #timer: NodeJS.Timeout | null = null;
  #firing = false;
  readonly #registry: Map<number, TimerList>;

  constructor(registry: Map<number, TimerList>, delay: number) {
    this.#registry = registry;
    this.delay = delay;
    this.#window = coalescingWindow(delay);
  }

  arm(entry: Linked): void {
    entry[kDeadline] = performance.now() + this.delay;
    entry[kList] = this;
    entry[kNext] = null;
    entry[kPrev] = this.#tail;
    if (this.#tail !== null) this.#tail[kNext] = entry;
    else this.#head = entry;
    this.#tail = entry;
    // A non-empty list has its timer, except during a fire, which re-arms it.
    if (this.#timer === null && !this.#firing) this.#schedule(this.delay + this.#window);
  }

  disarm(entry: Linked): void {
    const prev = entry[kPrev];
    const next = entry[kNext];
    if (prev !== null) prev[kNext] = next;
    else this.#head = next;
    if (next !== null) next[kPrev] = prev;
    else this.#tail = prev;
    entry[kPrev] = entry[kNext] = entry[kList] = null;
    if (this.#head === null && !this.#firing) this.#release();
  }

  #release(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#registry.delete(this.delay);
  }

  #schedule(ms: number): void {
    const timer = setTimeout(this.#fire, ms < 1 ? 1 : ms > TIMEOUT_MAX ? TIMEOUT_MAX : Math.ceil(ms));
    // Timers never keep the process alive by themselves: servers and sockets do.
    timer.unref();
    this.#timer = timer;
  }

  #fire = (): void => {
    this.#timer = null;
    this.#firing = true;
    const now = performance.now();
    let entry = this.#head;
    // Entries armed during the walk are due at least 1 ms after `now`, so the walk ends.
    while (entry !== null && entry[kDeadline] <= now) {
      this.disarm(entry);
      try {
        entry.onTimeout();
      } catch (err) {
        // The other entries still fire; the error is the callback's owner's
        // and reaches 'uncaughtException' as a throw in a Node timer would.
        process.nextTick(rethrow, err);
      }
      entry = this.#head;
    }
    this.#firing = false;
    if (entry === null) this.#release();
    // The head may wait for the entries due within the window after it.
    else this.#schedule(entry[kDeadline] + this.#window - performance.now());
  };
}

/** A registry of timer lists keyed by delay. */
export class Timers {
  readonly #lists = new Map<number, TimerList>();

  /**
   * Arms `entry` to fire once after `delay` ms, moving it if it was armed.
   * The delay is rounded up to whole ms; below 1 ms (or NaN) it is 1 ms, as
   * with setTimeout; beyond 2^31-1 ms the entry still fires at its deadline;
   * with Infinity it never fires (the entry is left disarmed).
   */
  arm(entry: TimerEntry, delay: number): void {
    const e = entry as Linked;
    const current = e[kList];
    if (current != null) current.disarm(e);
    if (delay === Infinity) return;
    const key = delay >= 1 ? Math.ceil(delay) : 1;
    let list = this.#lists.get(key);
    if (list === undefined) {
      list = new TimerList(this.#lists, key);
      this.#lists.set(key, list);
    }
    list.arm(e);
  }

  disarm(entry: TimerEntry): void {
    const e = entry as Linked;
    const current = e[kList];
    if (current != null) current.disarm(e);
  }

  isArmed(entry: TimerEntry): boolean {
    return (entry as Linked)[kList] != null;
  }

  /** @internal Lists alive (for tests: emptied lists must be released). */
  get listCount(): number {
    return this.#lists.size;
  }
}

/** The process-wide timer registry. */
export const timers = new Timers();
