/**
 * The benchmark's profile summary (bench/lib/profile-summary.js): self time by
 * module, with tidewire's bundled dist/ code mapped back to its src/ file
 * through the source map, GC and native writes in groups of their own, the
 * top functions by self and by total time, and µs per unit when the units
 * are known.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { summarizeProfile } from "../../bench/lib/profile-summary.js";

const dir = mkdtempSync(join(tmpdir(), "tidewire-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// dist/index.js whose line 1 column 0 maps to src/engine/session.ts line 1 ("AAAA")
mkdirSync(join(dir, "dist"));
const bundle = join(dir, "dist", "index.js");
writeFileSync(bundle, "function write() {}\n");
writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ["../src/engine/session.ts"], names: [], mappings: "AAAA" }));

type Frame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
const frame = (functionName: string, url = "", lineNumber = 0): Frame => ({ functionName, url, lineNumber, columnNumber: 0 });

/**
 * A profile: root → flush (tidewire) → writev (native), root → GC, root → idle,
 * root → flush → Writable.write (node) ; `samples` lists leaf ids, one per ms.
 */
function profile(samples: number[]) {
  const nodes = [
    { id: 1, callFrame: frame("(root)"), children: [2, 4, 5] },
    { id: 2, callFrame: frame("write", pathToFileURL(bundle).href), children: [3, 6] },
    { id: 3, callFrame: frame("writev"), children: [] },
    { id: 4, callFrame: frame("(garbage collector)"), children: [] },
    { id: 5, callFrame: frame("(idle)"), children: [] },
    { id: 6, callFrame: frame("writeOrBuffer", "node:internal/streams/writable", 547), children: [] },
  ];
  const file = join(dir, `p${samples.join("")}.cpuprofile`);
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: samples.length * 1000, samples, timeDeltas: samples.map(() => 1000) }));
  return file;
}

describe("bench profile summary", () => {
  // 1 ms per sample, the last one's duration unknown (0): write 1, writev 3, GC 1, idle 2, writable 2 (9 ms)
  const file = profile([2, 3, 3, 3, 4, 5, 5, 6, 6, 2]);

  it("groups self time by module: tidewire's src/ file through the source map, native writes, GC, node streams; idle left out", () => {
    const text = summarizeProfile(file);
    expect(text).toContain("9 ms sampled, 7 ms not idle");
    expect(text).toMatch(/3\.0 +42\.9% +native writes/);
    expect(text).toMatch(/2\.0 +28\.6% +node streams/);
    expect(text).toMatch(/1\.0 +14\.3% +tidewire src\/engine\/session\.ts$/m);
    expect(text).toMatch(/1\.0 +14\.3% +GC$/m);
    expect(text).not.toMatch(/idle\)/);
  });

  it("lists functions by self time with their src/ location, and by total time (callees included)", () => {
    const text = summarizeProfile(file, { top: 5 });
    expect(text).toMatch(/3\.0 +42\.9% +writev$/m);
    expect(text).toMatch(/1\.0 +14\.3% +write {2}src\/engine\/session\.ts:1$/m);
    // write's total: itself 1 + writev 3 + writeOrBuffer 2
    expect(text).toMatch(/top functions by total time[^]*6\.0 +85\.7% +write {2}src\/engine\/session\.ts:1/);
  });

  it("gives µs per unit when the units are known, and sums several profiles", () => {
    const text = summarizeProfile([file, profile([3, 3, 2, 4])], { units: 1000, unitLabel: "delivery" });
    // 7 ms + 3 ms (the second profile's last sample has no duration) over 1000 deliveries
    expect(text).toContain("10 ms not idle; 1,000 × delivery: 10.0 µs of non-idle CPU per delivery");
    expect(text).toMatch(/5\.0 +50\.0% +5\.000 +native writes/);
  });
});
