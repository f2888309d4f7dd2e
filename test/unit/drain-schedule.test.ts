/**
 * The drain's schedule (src/io/drain.ts): every session exactly once, in
 * ascending order, within the duration, `batch` per slot, and never more
 * than batch + 1 closes in any window of one slot's length.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { schedule } from "../../src/io/drain.js";

describe("drain schedule", () => {
  it("spreads every session over the duration, at most batch + 1 per slot-long window", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 60_000 }), fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }), (n, durationMs, batch) => {
        const sessions = Array.from({ length: n }, (_, i) => ({ id: i }) as any);
        const plan = schedule(sessions, durationMs, batch);
        expect(plan).toHaveLength(n);
        expect(new Set(plan.map((p) => p.session)).size).toBe(n);
        for (let i = 1; i < n; i++) expect(plan[i].at).toBeGreaterThanOrEqual(plan[i - 1].at);
        expect(plan[0].at).toBeGreaterThanOrEqual(0);
        expect(plan[n - 1].at).toBeLessThanOrEqual(durationMs);
        const size = batch ?? Math.max(1, Math.ceil(n / Math.max(1, Math.floor(durationMs / 100))));
        const slot = durationMs / Math.ceil(n / size);
        if (slot >= 1) {
          let from = 0;
          for (let to = 0; to < n; to++) {
            while (plan[to].at - plan[from].at >= slot) from++;
            expect(to - from + 1).toBeLessThanOrEqual(size + 1);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
