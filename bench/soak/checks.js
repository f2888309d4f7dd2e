// Sequence checks of one connection's lifetime, and the counters they feed.

/** Gaps remembered per sequence (a late arrival filling one is out of order, not a duplicate). */
const MAX_REMEMBERED_GAPS = 1000;

/** Fresh counters of one load worker (summed by the runner). */
export function newCounters() {
  return {
    connects: 0,
    disconnects: 0,
    unexpectedDisconnects: 0,
    connectErrors: 0,
    /** Connections that received nothing for SILENT_MS while up (see client.js). */
    silentConnections: 0,
    room: { checked: 0, lost: 0, duplicated: 0, outOfOrder: 0, misrouted: 0 },
    direct: { checked: 0, lost: 0, duplicated: 0, outOfOrder: 0 },
    acks: { sent: 0, ok: 0, wrong: 0, duplicated: 0, missing: 0, excused: 0, cutByUnexpected: 0 },
    /** Unexpected disconnect reasons and connect errors, by message. */
    reasons: {},
    errors: {},
  };
}

/** Adds `b`'s counters into `a` (nested objects of numbers). */
export function addCounters(a, b) {
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === "number") a[key] = (a[key] ?? 0) + value;
    else addCounters((a[key] ??= {}), value);
  }
  return a;
}

/**
 * One sequence of one connection: after the first number (or the one it
 * starts after), each must be the previous + 1. A jump counts the skipped
 * numbers as lost; a number at or below the last one is out of order when it
 * fills a remembered gap (and is then no longer lost), a duplicate otherwise.
 */
export class SeqTrack {
  /** @type {number | null} */
  last;
  #gaps = new Set();

  /** @param {number | null} after the number before the first expected one, or null to start at the first seen */
  constructor(after = null) {
    this.last = after;
  }

  /**
   * @param {number} seq
   * @param {{ checked: number, lost: number, duplicated: number, outOfOrder: number }} stats
   */
  see(seq, stats) {
    stats.checked++;
    if (this.last === null || seq === this.last + 1) {
      this.last = seq;
      return;
    }
    if (seq > this.last) {
      stats.lost += seq - this.last - 1;
      for (let s = this.last + 1; s < seq && this.#gaps.size < MAX_REMEMBERED_GAPS; s++) this.#gaps.add(s);
      this.last = seq;
      return;
    }
    if (this.#gaps.delete(seq)) {
      stats.lost--;
      stats.outOfOrder++;
    } else {
      stats.duplicated++;
    }
  }
}

/** Counts one occurrence of `key` in a by-message map (bounded number of distinct keys). */
export function countReason(map, key) {
  const k = String(key).slice(0, 120);
  if (k in map || Object.keys(map).length < 20) map[k] = (map[k] ?? 0) + 1;
  else map.other = (map.other ?? 0) + 1;
}
