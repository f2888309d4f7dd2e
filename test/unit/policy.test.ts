/**
 * The pure parts of io/policy: the token bucket (properties over random
 * schedules), the client address from a proxy header (never an entry the
 * client wrote; safe on any input), the bounded per-address table (a model
 * test against a plain reference, many entries at once), and validateArgs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { headerEntry, normalize } from "../../src/io/policy/address.js";
import { AddressTable } from "../../src/io/policy/address-table.js";
import { TokenBucket } from "../../src/io/policy/bucket.js";
import type { ResolvedRate } from "../../src/io/policy/options.js";
import { validateArgs } from "../../src/io/policy/validate.js";

const rate = (perSecond: number, burst: number): ResolvedRate => ({ perMs: perSecond / 1000, burst, action: "drop" });

describe("TokenBucket", () => {
  it("over any window, lets through at most burst + rate x window events, and never refuses after a full refill", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          const limit = rate(perSecond, burst);
          const bucket = new TokenBucket(limit, 0);
          let now = 0;
          const accepted: number[] = [];
          let lastAccepted = -Infinity;
          for (const gap of gaps) {
            now += gap;
            const refilled = now - lastAccepted >= (burst * 1000) / perSecond && bucket.full(limit, now);
            const wait = bucket.take(limit, now, 1, false);
            if (wait === 0) {
              accepted.push(now);
              lastAccepted = now;
            } else {
              expect(refilled).toBe(false);
              expect(wait).toBeGreaterThanOrEqual(1);
              // Waiting as told is enough (no other take in between).
              const probe = new TokenBucket(limit, 0);
              probe.tokens = bucket.tokens;
              probe.last = bucket.last;
              expect(probe.take(limit, now + wait, 1, false)).toBe(0);
            }
          }
          for (let i = 0; i < accepted.length; i++) {
            for (let j = i; j < accepted.length; j++) {
              const window = accepted[j] - accepted[i];
              expect(j - i + 1).toBeLessThanOrEqual(burst + (window * perSecond) / 1000 + 1e-9);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("with debt, a cost larger than the burst passes once and is paid back before the next", () => {
    const limit = rate(1000, 100); // 1 byte per ms
    const bucket = new TokenBucket(limit, 0);
    expect(bucket.take(limit, 0, 500, true)).toBe(0);
    expect(bucket.tokens).toBe(-400);
    expect(bucket.take(limit, 100, 1, true)).toBe(300);
    expect(bucket.take(limit, 400, 1, true)).toBe(0);
  });
});

describe("client address from a proxy header", () => {
  it("takes the hops-th entry from the right, with or without spaces and ports", () => {
    expect(headerEntry("203.0.113.7", 1)).toBe("203.0.113.7");
    expect(headerEntry("1.1.1.1, 203.0.113.7", 1)).toBe("203.0.113.7");
    expect(headerEntry("1.1.1.1,203.0.113.7, 10.0.0.2", 2)).toBe("203.0.113.7");
    expect(headerEntry("203.0.113.7", 3)).toBe("203.0.113.7");
    expect(headerEntry(" 203.0.113.7:8080 ", 1)).toBe("203.0.113.7");
    expect(headerEntry("[2001:db8::1]:443", 1)).toBe("2001:db8::1");
    expect(headerEntry("2001:db8::1", 1)).toBe("2001:db8::1");
    expect(headerEntry("1.1.1.1, unknown", 1)).toBeNull();
    expect(headerEntry("1.1.1.1,", 1)).toBeNull();
    expect(headerEntry("", 1)).toBeNull();
    expect(headerEntry("1.1.1.1, " + "9".repeat(5000), 1)).toBeNull();
    expect(headerEntry("x".repeat(5000) + ", 203.0.113.7", 1)).toBe("203.0.113.7");
  });

  it("never returns an entry left of what the trusted proxies wrote, whatever the client prepends", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.ipV4(), fc.integer({ min: 1, max: 4 }), (forged, real, hops) => {
        const proxies = Array.from({ length: hops - 1 }, (_, i) => `10.0.0.${i + 1}`);
        const value = [forged, real, ...proxies].join(", ");
        expect(headerEntry(value, hops)).toBe(real);
      }),
      { numRuns: 300 },
    );
  });

  it("is safe on any input: never throws, returns null or a short IP address", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), fc.integer({ min: 1, max: 32 }), (value, hops) => {
        const entry = headerEntry(value, hops);
        if (entry !== null) expect(entry.length).toBeLessThanOrEqual(64);
      }),
      { numRuns: 500 },
    );
  });

  it("normalizes IPv4-mapped IPv6 and counts IPv6 per network", () => {
    expect(normalize("::ffff:127.0.0.2", 64)).toBe("127.0.0.2");
    expect(normalize("2001:db8:1:2:3:4:5:6", 64)).toBe("2001:db8:1:2::/64");
    expect(normalize("2001:db8:1:2::9", 64)).toBe("2001:db8:1:2::/64");
    expect(normalize("2001:db8:1:2::9", 48)).toBe("2001:db8:1::/48");
    expect(normalize("2001:db8:1:2::9", 56)).toBe("2001:db8:1:0::/56");
    expect(normalize("fe80::1%eth0", 64)).toBe("fe80:0:0:0::/64");
    expect(normalize("::1", 128)).toBe("::1");
    expect(normalize("10.1.2.3", 64)).toBe("10.1.2.3");
  });
});

describe("AddressTable", () => {
  it("matches a plain reference: counts kept for addresses with connections, at most max idle, least recently seen evicted", () => {
    const key = fc.integer({ min: 0, max: 30 }).map((n) => `a${n}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant("get" as const), key }),
      fc.record({ kind: fc.constant("open" as const), key }),
      fc.record({ kind: fc.constant("close" as const), key }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 400 }), (max, ops) => {
        const table = new AddressTable(max);
        const counts = new Map<string, number>();
        let idle: string[] = []; // least recently seen first
        const touchIdle = (k: string) => {
          idle = idle.filter((x) => x !== k);
          if (idle.length >= max) idle.shift();
          idle.push(k);
        };
        for (const { kind, key: k } of ops) {
          const open = counts.get(k) ?? 0;
          if (kind === "get") {
            table.get(k);
            if (open === 0) touchIdle(k);
          } else if (kind === "open") {
            table.open(k);
            if (open === 0) touchIdle(k), (idle = idle.filter((x) => x !== k));
            counts.set(k, open + 1);
          } else if (open > 0) {
            table.close(k);
            counts.set(k, open - 1);
            if (open === 1) touchIdle(k);
          } else {
            table.close(k);
          }
          expect(table.idleSize).toBeLessThanOrEqual(max);
          const active = [...counts.values()].filter((c) => c > 0).length;
          expect(table.size).toBe(active + idle.length);
          for (const [addr, c] of counts) if (c > 0) expect(table.get(addr).connections).toBe(c);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("100,000 distinct addresses keep at most max entries", () => {
    const table = new AddressTable(1000);
    for (let i = 0; i < 100_000; i++) table.get(`198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(table.size).toBe(1000);
    table.sweep(0, null, null);
    expect(table.size).toBe(0);
  });
});

describe("validateArgs", () => {
  it("fills missing arguments with what the schema makes of undefined, refuses extra ones", () => {
    const schemas = [z.string(), z.number().default(5)];
    expect(validateArgs(schemas, ["ev", "a"], 1)).toEqual({ values: ["a", 5] });
    expect(validateArgs(schemas, ["ev", "a", 1, 2], 1)).toEqual({ issues: [{ message: "expected at most 2 argument(s), got 3", path: [2] }] });
  });

  it("bounds issues: at most 10, messages cut to 200 characters, paths of strings and numbers", () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, z.string()])));
    const outcome = validateArgs([wide], [{}], 0) as { issues: Array<{ message: string; path: unknown[] }> };
    expect(outcome.issues).toHaveLength(10);
    expect(outcome.issues[0].path).toEqual([0, "k0"]);
    const long = { "~standard": { version: 1 as const, vendor: "t", validate: () => ({ issues: [{ message: "m".repeat(1000), path: [{ key: Symbol("s") }, 3] }] }) } };
    const [issue] = (validateArgs([long], [1], 0) as { issues: Array<{ message: string; path: unknown[] }> }).issues;
    expect(issue.message).toHaveLength(200);
    expect(issue.path).toEqual([0, "Symbol(s)", 3]);
  });

  it("gives a Promise when any schema is asynchronous, and never rejects", async () => {
    const asyncSchema = z.string().refine(async () => true);
    const outcome = validateArgs([z.number(), asyncSchema], [1, "x"], 0);
    expect(outcome).toBeInstanceOf(Promise);
    expect(await outcome).toEqual({ values: [1, "x"] });
    const rejecting = { "~standard": { version: 1 as const, vendor: "t", validate: () => Promise.reject(new Error("no")) } };
    expect(await validateArgs([rejecting], [1], 0)).toMatchObject({ error: expect.any(Error) });
    const broken = { "~standard": { version: 1 as const, vendor: "t", validate: () => null as any } };
    expect(validateArgs([broken], [1], 0)).toMatchObject({ error: expect.any(TypeError) });
  });
});
