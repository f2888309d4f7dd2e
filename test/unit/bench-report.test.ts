/**
 * The benchmark's report (bench/lib/report.js) prints what was measured and
 * nothing else: one value when there is one round, "median [min–max]" when
 * there are several; the verdict on a target taken on the ratio as printed;
 * metrics quick mode does not measure said to be so, without a verdict.
 */
import { describe, expect, it } from "vitest";
import { summarizeScenario, textTable, markdownTable } from "../../bench/lib/report.js";

/** A throughput run whose first metric is `units` per second. */
function run(target: string, round: number, units: number, cpuSec: number, extra: Record<string, unknown> = {}) {
  return {
    scenario: "demo",
    target,
    round,
    kind: "throughput",
    ok: true,
    units,
    bytes: 0,
    deliveries: units,
    errors: 0,
    errorSamples: [],
    windowMs: 1000,
    server: { cpuUser: cpuSec, cpuSystem: 0, elapsedMs: 1000 },
    load: { workers: 1, cpu: 0.3, loopDelayP99Ms: 10 },
    cores: { server: 50, load: 30 },
    ...extra,
  };
}

const scenario = {
  name: "demo",
  title: "demo: a scenario",
  kind: "throughput",
  metrics: [
    { key: "throughput", label: "units/s", value: (r: any) => r.units / (r.windowMs / 1000), better: "higher", target: 2, format: "int" },
    { key: "cpuPerUnit", label: "server CPU µs/unit", value: (r: any) => (r.server.cpuUser * 1e6) / r.units, better: "lower", target: 0.75, format: "2" },
    { key: "idleOnly", label: "idle figure", value: (r: any) => r.idle ?? NaN, better: "lower", target: 0.6, format: "2", quick: false },
  ],
};

function report(runs: any[], mode: { name: string; rounds: number }, targets = ["socket.io", "tidewire"]) {
  const summarized = { ...scenario, runs, ...summarizeScenario(scenario, runs, targets) };
  const results = { date: "2026-01-01T00:00:00Z", mode, targets, scenarios: [summarized] };
  return { text: textTable(results), markdown: markdownTable(results), ratios: summarized.ratios };
}

describe("bench report", () => {
  it("one round: the value alone, '1 round', no median heading", () => {
    const { text } = report([run("socket.io", 1, 1000, 0.1), run("tidewire", 1, 3000, 0.05)], { name: "quick", rounds: 1 });
    expect(text).toContain("(demo, 1 round)");
    expect(text).not.toContain("median");
    expect(text).not.toContain("[");
    expect(text).toMatch(/units\/s +1,000 +3,000 +3\.00x +>= 2x met/);
  });

  it("several rounds: median [min–max] and the number of rounds", () => {
    const runs = [1, 2, 3].flatMap((round) => [run("socket.io", round, 1000 * round, 0.1), run("tidewire", round, 3000 * round, 0.05)]);
    const { text } = report(runs, { name: "full", rounds: 3 });
    expect(text).toContain("(demo, 3 rounds)");
    expect(text).toContain("socket.io median [min–max]");
    expect(text).toContain("2,000 [1,000–3,000]");
  });

  it("takes the verdict on the ratio as printed: 0.75x meets <= 0.75x, 0.76x does not", () => {
    // CPU per unit: tidewire / socket.io = 0.7549 (printed 0.75x), then 0.7551 (printed 0.76x).
    const at = report([run("socket.io", 1, 1e6, 1), run("tidewire", 1, 1e6, 0.7549)], { name: "quick", rounds: 1 });
    expect(at.text).toMatch(/server CPU µs\/unit .* 0\.75x +<= 0\.75x met/);
    expect(at.ratios.cpuPerUnit.met).toBe(true);
    const over = report([run("socket.io", 1, 1e6, 1), run("tidewire", 1, 1e6, 0.7551)], { name: "quick", rounds: 1 });
    expect(over.text).toMatch(/server CPU µs\/unit .* 0\.76x +<= 0\.75x MISSED/);
  });

  it("quick mode: a metric it does not measure says so, with no target or verdict", () => {
    const { text, markdown } = report([run("socket.io", 1, 1000, 0.1), run("tidewire", 1, 3000, 0.05)], { name: "quick", rounds: 1 });
    expect(text).toMatch(/idle figure +not measured in --quick$/m);
    expect(text).not.toContain("0.6x");
    expect(markdown).toContain("| demo | idle figure | not measured in --quick |");
  });

  it("full mode: a metric that did get measured has its verdict; one that did not shows '–' without one", () => {
    const measured = report([run("socket.io", 1, 1000, 0.1, { idle: 2 }), run("tidewire", 1, 3000, 0.05, { idle: 1 })], { name: "full", rounds: 1 });
    expect(measured.text).toMatch(/idle figure +2\.00 +1\.00 +0\.50x +<= 0\.6x met/);
    const missing = report([run("socket.io", 1, 1000, 0.1), run("tidewire", 1, 3000, 0.05)], { name: "full", rounds: 1 });
    expect(missing.text).toMatch(/idle figure +– +– +–$/m);
  });

  it("the bare ws server (target raw) gets its own column and its own ratio to socket.io, without a verdict", () => {
    const runs = [run("socket.io", 1, 1000, 0.1), run("tidewire", 1, 3000, 0.05), run("raw", 1, 5000, 0.02)];
    const { text, markdown } = report(runs, { name: "quick", rounds: 1 }, ["socket.io", "tidewire", "raw"]);
    expect(text).toMatch(/metric +socket\.io +tidewire +bare ws +ratio +target +bare ws ratio/);
    // units/s: tidewire 3.00x (target >= 2x), bare ws 5.00x
    expect(text).toMatch(/units\/s +1,000 +3,000 +5,000 +3\.00x +>= 2x met +5\.00x$/m);
    // CPU per unit: tidewire 50 / 100 µs, bare ws 4 / 100 µs
    expect(text).toMatch(/server CPU µs\/unit +100\.00 +16\.67 +4\.00 +0\.17x +<= 0\.75x met +0\.04x$/m);
    expect(markdown).toContain("| demo | units/s | 1,000 | 3,000 | 5,000 | 3.00x | >= 2x ✓ | 5.00x |");
  });

  it("a scenario the bare ws server did not run has no bare ws column in the text table, empty cells in the Markdown one", () => {
    const runs = [run("socket.io", 1, 1000, 0.1), run("tidewire", 1, 3000, 0.05)];
    const { text, markdown } = report(runs, { name: "quick", rounds: 1 }, ["socket.io", "tidewire", "raw"]);
    expect(text).toMatch(/metric +socket\.io +tidewire +ratio +target$/m);
    expect(text).toMatch(/units\/s +1,000 +3,000 +3\.00x +>= 2x met$/m);
    expect(markdown).toContain("| demo | units/s | 1,000 | 3,000 | – | 3.00x | >= 2x ✓ |  |");
  });
});
