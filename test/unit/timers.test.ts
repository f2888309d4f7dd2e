import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Timers, type TimerEntry } from "../../src/core/timers.js";

const TIMEOUT_MAX = 2 ** 31 - 1;

function entry(log: string[], name: string): TimerEntry {
  return { onTimeout: () => log.push(name) };
}

describe("core/timers (real clock)", () => {
  it("fires entries of one delay in arming order, once each", async () => {
    const t = new Timers();
    const log: string[] = [];
    const a = entry(log, "a");
    const b = entry(log, "b");
    t.arm(a, 20);
    t.arm(b, 20);
    await new Promise<void>((resolve) => t.arm({ onTimeout: resolve }, 40));
    expect(log).toEqual(["a", "b"]);
    expect(t.isArmed(a)).toBe(false);
  });

  it("an entry re-armed from its own callback fires again", async () => {
    const t = new Timers();
    let count = 0;
    await new Promise<void>((resolve) => {
      const e: TimerEntry = {
        onTimeout() {
          if (++count < 3) t.arm(e, 5);
          else resolve();
        },
      };
      t.arm(e, 5);
    });
    expect(count).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.listCount).toBe(0);
  });
});

describe("core/timers (fake clock)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("a callback re-arming an entry on the firing list does not postpone the others (pingInterval == pingTimeout)", () => {
    vi.useFakeTimers();
    const t = new Timers();
    const fired: Array<[string, number]> = [];
    const a: TimerEntry = { onTimeout: () => (fired.push(["a", performance.now()]), t.arm(a, 10)) };
    const b: TimerEntry = { onTimeout: () => fired.push(["b", performance.now()]) };
    t.arm(a, 10);
    vi.advanceTimersByTime(3);
    t.arm(b, 10);
    vi.advanceTimersByTime(17);
    expect(fired).toEqual([
      ["a", 10],
      ["b", 13],
      ["a", 20],
    ]);
  });

  it("a delay above 2^31-1 ms fires at its deadline, the Node timer re-armed in steps, never spinning", () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, "setTimeout");
    const t = new Timers();
    let firedAt = -1;
    t.arm({ onTimeout: () => (firedAt = performance.now()) }, 3e9);
    // A list that spins re-arms every millisecond: one second shows it.
    vi.advanceTimersByTime(1000);
    expect(spy).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(TIMEOUT_MAX - 1000);
    expect(firedAt).toBe(-1);
    vi.advanceTimersByTime(3e9 - TIMEOUT_MAX - 1);
    expect(firedAt).toBe(-1);
    // Due now; it fires with whatever else is due within its list's window (40 ms).
    vi.advanceTimersByTime(1);
    expect(firedAt).toBe(-1);
    vi.advanceTimersByTime(40);
    expect(firedAt).toBe(3e9 + 40);
    expect(spy).toHaveBeenCalledTimes(2);
    for (const call of spy.mock.calls) expect(call[1]).toBeLessThanOrEqual(TIMEOUT_MAX);
    expect(t.listCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("Infinity never fires and keeps nothing; re-arming an armed entry with Infinity disarms it", () => {
    vi.useFakeTimers();
    const t = new Timers();
    const log: string[] = [];
    const a = entry(log, "a");
    t.arm(a, Infinity);
    expect([t.isArmed(a), t.listCount, vi.getTimerCount()]).toEqual([false, 0, 0]);
    t.arm(a, 50);
    t.arm(a, Infinity);
    expect([t.isArmed(a), t.listCount, vi.getTimerCount()]).toEqual([false, 0, 0]);
    vi.advanceTimersByTime(1000);
    expect(log).toEqual([]);
  });

  it("delays below 1 ms, negative or NaN fire after 1 ms, as setTimeout's", () => {
    vi.useFakeTimers();
    const t = new Timers();
    const log: string[] = [];
    for (const [name, delay] of [["zero", 0], ["tiny", 0.2], ["negative", -5], ["nan", NaN], ["-inf", -Infinity]] as const) {
      t.arm(entry(log, name), delay);
    }
    expect(t.listCount).toBe(1);
    vi.advanceTimersByTime(0);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(["zero", "tiny", "negative", "nan", "-inf"]);
  });

  it("fractional delays are rounded up to whole ms and share a list", () => {
    vi.useFakeTimers();
    const t = new Timers();
    const fired: number[] = [];
    for (const delay of [10.1, 10.5, 10.99, 11]) t.arm({ onTimeout: () => fired.push(performance.now()) }, delay);
    expect(t.listCount).toBe(1);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([11, 11, 11, 11]);
    expect(t.listCount).toBe(0);
  });

  it("a throwing callback does not stop the list; its error is rethrown on its own", () => {
    vi.useFakeTimers();
    const deferred: Array<() => void> = [];
    vi.spyOn(process, "nextTick").mockImplementation(((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
      deferred.push(() => fn(...args));
    }) as typeof process.nextTick);
    const t = new Timers();
    const log: string[] = [];
    t.arm(entry(log, "a"), 5);
    t.arm({ onTimeout: () => { throw new Error("user bug"); } }, 5);
    t.arm(entry(log, "c"), 5);
    vi.advanceTimersByTime(5);
    expect(log).toEqual(["a", "c"]);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]).toThrow("user bug");
    expect(t.listCount).toBe(0);
  });

  it("keeps its list fields out of sight: no string keys on entries, none in the published declarations", () => {
    const t = new Timers();
    const e = { onTimeout: () => undefined };
    t.arm(e, 1000);
    expect(Object.keys(e)).toEqual(["onTimeout"]);
    expect(JSON.stringify(e)).toBe("{}");
    t.disarm(e);
    const dist = resolve(__dirname, "../../dist");
    if (!existsSync(dist)) return; // `npm test` builds first
    const declarations = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => /\.d\.c?ts$/.test(f));
    expect(declarations).toContain("index.d.ts");
    for (const file of declarations) {
      expect(readFileSync(join(dist, file), "utf8"), file).not.toMatch(/_t(Prev|Next|Deadline|List)\b|\bTimerList\b|listCount/);
    }
  });
});

// ---- model test --------------------------------------------------------------

type Reaction =
  | { kind: "self"; d: number }
  | { kind: "arm"; target: number; d: number }
  | { kind: "disarm"; target: number };

type Step =
  | { op: "arm"; i: number; d: number }
  | { op: "armAll"; d: number; reverse: boolean }
  | { op: "disarm"; i: number }
  | { op: "advance"; ms: number }
  | { op: "react"; i: number; reactions: Reaction[] };

/**
 * The plain reference: an entry armed at `now` with delay d is due at
 * now + max(d, 1) and must fire within 1 ms plus its list's window after
 * that (delays are whole ms; the window is 0 below 128 ms, else 1/128 of
 * the delay, at most 40 ms); Infinity is never due. `key` is the whole-ms
 * list it shares with others.
 */
class Model {
  readonly armed = new Map<number, { due: number; key: number; late: number }>();
  arm(i: number, d: number, now: number): void {
    if (d === Infinity) return void this.armed.delete(i);
    const key = d >= 1 ? Math.ceil(d) : 1;
    const window = key < 128 ? 0 : Math.min(Math.floor(key / 128), 40);
    this.armed.set(i, { due: now + (d >= 1 ? d : 1), key, late: 1 + window });
  }
  disarm(i: number): void {
    this.armed.delete(i);
  }
  /** The lists that must be alive: one per key in use. */
  listCount(): number {
    return new Set([...this.armed.values()].map((a) => a.key)).size;
  }
}

function steps(n: number, delays: number[]): fc.Arbitrary<Step[]> {
  const d = fc.constantFrom(...delays);
  // A few entries come up often, so that reactions, re-arms and neighbours on one list meet.
  const i = fc.oneof(fc.nat(Math.min(n - 1, 3)), fc.nat(n - 1));
  const reaction: fc.Arbitrary<Reaction> = fc.oneof(
    fc.record({ kind: fc.constant("self" as const), d }),
    fc.record({ kind: fc.constant("arm" as const), target: i, d }),
    fc.record({ kind: fc.constant("disarm" as const), target: i }),
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant("arm" as const), i, d }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("armAll" as const), d, reverse: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("disarm" as const), i }) },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant("advance" as const),
        ms: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 100, max: 700 })),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("react" as const), i, reactions: fc.array(reaction, { maxLength: 2 }) }) },
  );
  // Every entry starts with its own reactions (most re-entrancy happens there).
  const initial = fc.array(fc.array(reaction, { maxLength: 2 }), { minLength: n, maxLength: n });
  return fc
    .tuple(initial, fc.array(step, { minLength: 1, maxLength: 60 }))
    .map(([all, rest]) => [...all.map((reactions, k): Step => ({ op: "react", i: k, reactions })), ...rest]);
}

/** Runs `script` against a Timers on the fake clock and the model side by side. */
function check(n: number, script: Step[]): void {
  vi.useFakeTimers();
  try {
    const t = new Timers();
    const model = new Model();
    // What each entry's callback does, besides being checked: the re-entrant part.
    const reactions: Reaction[][] = Array.from({ length: n }, () => []);
    const violations: string[] = [];
    const entries: TimerEntry[] = [];
    const arm = (i: number, d: number): void => {
      model.arm(i, d, performance.now());
      t.arm(entries[i], d);
    };
    const disarm = (i: number): void => {
      model.disarm(i);
      t.disarm(entries[i]);
    };
    for (let i = 0; i < n; i++) {
      entries.push({
        onTimeout() {
          const now = performance.now();
          const armed = model.armed.get(i);
          if (armed === undefined) violations.push(`${i} fired at ${now} but is not armed`);
          else if (now < armed.due || now > armed.due + armed.late) violations.push(`${i} fired at ${now}, due at ${armed.due}`);
          if (t.isArmed(entries[i])) violations.push(`${i} is still armed in its callback`);
          model.disarm(i);
          for (const r of reactions[i]) {
            if (r.kind === "self") arm(i, r.d);
            else if (r.kind === "arm") arm(r.target, r.d);
            else disarm(r.target);
          }
        },
      });
    }
    for (const s of script) {
      if (s.op === "arm") arm(s.i, s.d);
      else if (s.op === "armAll") for (let k = 0; k < n; k++) arm(s.reverse ? n - 1 - k : k, s.d);
      else if (s.op === "disarm") disarm(s.i);
      else if (s.op === "react") reactions[s.i] = s.reactions;
      else vi.advanceTimersByTime(s.ms);
      const now = performance.now();
      for (const [i, { due, late }] of model.armed) {
        if (due + late <= now) violations.push(`${i}, due at ${due}, has not fired at ${now}`);
      }
      for (let k = 0; k < n; k++) {
        if (t.isArmed(entries[k]) !== model.armed.has(k)) violations.push(`${k}: isArmed is ${t.isArmed(entries[k])}`);
      }
      expect(violations).toEqual([]);
      // One list per whole-ms delay in use, each with one Node timer: emptied lists are gone.
      expect(t.listCount).toBe(model.listCount());
      expect(vi.getTimerCount()).toBe(t.listCount);
    }
    for (let k = 0; k < n; k++) disarm(k);
    expect([t.listCount, vi.getTimerCount()]).toEqual([0, 0]);
  } finally {
    vi.useRealTimers();
  }
}

describe("core/timers against a reference model (fast-check, fake clock)", () => {
  it("entries of a long delay armed at different times fire in batches, each within its window", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }).chain((n) => fc.tuple(fc.constant(n), steps(n, [5000, 300]))), ([n, script]) => check(n, script)),
      { numRuns: 150 },
    );
  });

  it("many entries sharing one delay", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(fc.constant(n), steps(n, [25]))), ([n, script]) => check(n, script)),
      { numRuns: 150 },
    );
  });

  it("entries over several delays: fractional, below 1 ms, beyond 2^31-1 ms, Infinity", () => {
    const delays = [0, 1, 3, 3.5, 4, 10, 25, 25.2, 127, 128, 300, 1280.5, 6000, TIMEOUT_MAX + 8, Infinity];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), steps(n, delays))), ([n, script]) => check(n, script)),
      { numRuns: 300 },
    );
  });
});
