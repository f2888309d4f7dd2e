// Per-core busy time from /proc/stat, to tell how much of each pinned core
// other processes of the machine took during a window (the benchmark cannot
// keep them off the cores; it can say when they were there).
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * Busy and total seconds of each core since boot, or null where /proc/stat is unavailable.
 * @returns {Map<number, { busy: number, total: number }> | null}
 */
export function sampleCores() {
  let text;
  try {
    text = readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const cores = new Map();
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal …
    // Busy here is process time (user, nice, system, steal): interrupt and
    // softirq time is left out, since loopback TCP processing of the
    // benchmark's own traffic lands there.
    const f = m[2].trim().split(/\s+/).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const busy = f[0] + f[1] + f[2] + f[7];
    cores.set(Number(m[1]), { busy: busy / USER_HZ, total: total / USER_HZ });
  }
  return cores;
}

/**
 * Busy percentage of `core` between two samples.
 * @returns {number} NaN when unknown
 */
export function busyPercent(before, after, core) {
  const a = before?.get(core);
  const b = after?.get(core);
  if (!a || !b || b.total <= a.total) return NaN;
  return (100 * (b.busy - a.busy)) / (b.total - a.total);
}
