import { describe, it, expect } from "vitest";
import { Timers, type TimerEntry } from "../../src/core/timers.js";

function entry(log: string[], name: string): TimerEntry {
  return { onTimeout: () => log.push(name) };
}

describe("core/timers", () => {
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

  it("disarmed and re-armed entries do not fire early or twice", async () => {
    const t = new Timers();
    const log: string[] = [];
    const a = entry(log, "a");
    const b = entry(log, "b");
    t.arm(a, 15);
    t.arm(b, 15);
    t.disarm(a);
    t.arm(a, 60); // moves to another list
    await new Promise<void>((resolve) => t.arm({ onTimeout: resolve }, 30));
    expect(log).toEqual(["b"]);
    await new Promise<void>((resolve) => t.arm({ onTimeout: resolve }, 50));
    expect(log).toEqual(["b", "a"]);
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
  });
});
