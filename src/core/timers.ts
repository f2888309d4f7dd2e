/**
 * Shared timers: one list per distinct delay, one Node timer per list.
 *
 * Invariant: within a list every entry was armed with the same delay, so the
 * list is ordered by deadline simply by appending; arming and disarming are
 * O(1) and an entry costs three fields on an object that already exists (a
 * session, a connection) instead of a Timeout object per timer per session.
 * Thousands of sessions with the same pingInterval share one Node timer.
 */
export interface TimerEntry {
  /** Called once when the deadline passes; the entry is already disarmed. */
  onTimeout(): void;
  /** @internal intrusive list fields, owned by TimerList */
  _tPrev?: TimerEntry | null;
  /** @internal */
  _tNext?: TimerEntry | null;
  /** @internal */
  _tDeadline?: number;
  /** @internal */
  _tList?: TimerList | null;
}

export class TimerList {
  readonly delay: number;
  #head: TimerEntry | null = null;
  #tail: TimerEntry | null = null;
  #timer: NodeJS.Timeout | null = null;
  #size = 0;
  readonly #owner: Timers;

  constructor(owner: Timers, delay: number) {
    this.#owner = owner;
    this.delay = delay;
  }

  get size(): number {
    return this.#size;
  }

  arm(entry: TimerEntry, now = Date.now()): void {
    if (entry._tList) entry._tList.disarm(entry);
    entry._tDeadline = now + this.delay;
    entry._tList = this;
    entry._tNext = null;
    entry._tPrev = this.#tail;
    if (this.#tail) this.#tail._tNext = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === null) this.#schedule(this.delay);
  }

  disarm(entry: TimerEntry): void {
    if (entry._tList !== this) return;
    const prev = entry._tPrev ?? null;
    const next = entry._tNext ?? null;
    if (prev) prev._tNext = next;
    else this.#head = next;
    if (next) next._tPrev = prev;
    else this.#tail = prev;
    entry._tPrev = entry._tNext = entry._tList = null;
    this.#size--;
    if (this.#size === 0 && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#owner.release(this);
    }
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, ms));
    // Timers never keep the process alive by themselves: servers and sockets do.
    this.#timer.unref();
  }

  #fire = (): void => {
    this.#timer = null;
    const now = Date.now();
    let entry = this.#head;
    while (entry && (entry._tDeadline as number) <= now) {
      this.disarm(entry);
      try {
        entry.onTimeout();
      } catch (err) {
        // A timer callback must never take the process down.
        process.nextTick(() => {
          throw err;
        });
      }
      entry = this.#head;
    }
    if (this.#head && this.#timer === null) {
      this.#schedule((this.#head._tDeadline as number) - now);
    }
  };
}

/** A registry of timer lists keyed by delay. */
export class Timers {
  readonly #lists = new Map<number, TimerList>();

  arm(entry: TimerEntry, delay: number): void {
    let list = this.#lists.get(delay);
    if (!list) {
      list = new TimerList(this, delay);
      this.#lists.set(delay, list);
    }
    list.arm(entry);
  }

  disarm(entry: TimerEntry): void {
    entry._tList?.disarm(entry);
  }

  isArmed(entry: TimerEntry): boolean {
    return entry._tList != null;
  }

  /** @internal */
  release(list: TimerList): void {
    if (list.size === 0 && this.#lists.get(list.delay) === list) this.#lists.delete(list.delay);
  }
}

/** The process-wide timer registry. */
export const timers = new Timers();
