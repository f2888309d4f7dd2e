/**
 * Per-address state of the limits, bounded. An address with open
 * connections is kept (its count must not be lost; there are at most as
 * many as connections). An address without any is idle: it sits in an LRU
 * of at most `maxAddresses` entries (the least recently seen goes first)
 * and is dropped by `sweep()` once its buckets have refilled, since it then
 * holds nothing a fresh entry would not. A flood of distinct addresses thus
 * costs at most `maxAddresses` idle entries.
 */
import { TokenBucket } from "./bucket.js";
import type { ResolvedRate } from "./options.js";

export class AddressState {
  readonly key: string;
  /** Open sessions from this address. */
  connections = 0;
  handshakes: TokenBucket | null = null;
  events: TokenBucket | null = null;

  constructor(key: string) {
    this.key = key;
  }
}

export class AddressTable {
  readonly #active = new Map<string, AddressState>();
  /** Insertion order is recency: the first entry is the least recently seen. */
  readonly #idle = new Map<string, AddressState>();
  readonly #max: number;

  constructor(maxIdle: number) {
    this.#max = maxIdle;
  }

  /** Entries kept now (active and idle). */
  get size(): number {
    return this.#active.size + this.#idle.size;
  }

  get idleSize(): number {
    return this.#idle.size;
  }

  /** The state of `key`, created if unknown; an idle one becomes the most recently seen. */
  get(key: string): AddressState {
    const active = this.#active.get(key);
    if (active !== undefined) return active;
    let state = this.#idle.get(key);
    if (state !== undefined) {
      this.#idle.delete(key);
    } else {
      state = new AddressState(key);
      if (this.#idle.size >= this.#max) this.#idle.delete(this.#idle.keys().next().value as string);
    }
    this.#idle.set(key, state);
    return state;
  }

  /** A connection from `key` opened. */
  open(key: string): AddressState {
    const state = this.get(key);
    if (state.connections++ === 0) {
      this.#idle.delete(key);
      this.#active.set(key, state);
    }
    return state;
  }

  /** A connection from `key` closed. */
  close(key: string): void {
    const state = this.#active.get(key);
    if (state === undefined) return;
    if (--state.connections === 0) {
      this.#active.delete(key);
      if (this.#idle.size >= this.#max) this.#idle.delete(this.#idle.keys().next().value as string);
      this.#idle.set(key, state);
    }
  }

  /** Drops the idle entries whose buckets are full again. */
  sweep(now: number, handshakes: ResolvedRate | null, events: ResolvedRate | null): void {
    for (const [key, state] of this.#idle) {
      if (state.handshakes !== null && handshakes !== null && !state.handshakes.full(handshakes, now)) continue;
      if (state.events !== null && events !== null && !state.events.full(events, now)) continue;
      this.#idle.delete(key);
    }
  }
}
