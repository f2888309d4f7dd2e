// Counting events in time windows, for the drain measurements.

/** The largest number of timestamps (ms) falling in any window [t, t + windowMs). */
export function maxInWindow(timestamps, windowMs) {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to] - sorted[from] >= windowMs) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}
