// Turning the runs of a benchmark into summaries, a text table for the
// terminal, a Markdown table for bench/README.md, and the JSON record.
import { summarize } from "./stats.js";
import { COMMON_METRICS } from "../scenarios.js";

const REFERENCE = "socket.io";
const CANDIDATE = "tidewire";

const formatters = {
  int: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
  1: new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  2: new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  3: new Intl.NumberFormat("en-US", { minimumFractionDigits: 3, maximumFractionDigits: 3 }),
};

function fmt(value, format) {
  return Number.isFinite(value) ? formatters[format ?? "2"].format(value) : "–";
}

/**
 * Summaries per target and metric over the successful runs, and the ratios
 * tidewire / socket.io of the medians with the target check.
 * @param {object} scenario definition from bench/scenarios.js
 * @param {object[]} runs
 * @param {string[]} targets
 */
export function summarizeScenario(scenario, runs, targets) {
  const metrics = [...scenario.metrics, ...COMMON_METRICS];
  const summary = {};
  for (const target of targets) {
    const ok = runs.filter((r) => r.target === target && r.ok);
    summary[target] = {
      rounds: ok.length,
      failed: runs.filter((r) => r.target === target && !r.ok).length,
      clientErrors: ok.reduce((sum, r) => sum + r.errors, 0),
    };
    for (const m of metrics) summary[target][m.key] = summarize(ok.map((r) => safe(m.value, r)));
  }
  const ratios = {};
  if (summary[REFERENCE] && summary[CANDIDATE]) {
    for (const m of metrics) {
      if (!m.better) continue;
      const ratio = summary[CANDIDATE][m.key].median / summary[REFERENCE][m.key].median;
      const met = m.target === undefined || !Number.isFinite(ratio) ? null : m.better === "higher" ? ratio >= m.target : ratio <= m.target;
      ratios[m.key] = { ratio, target: m.target ?? null, better: m.better, met };
    }
  }
  return { summary, ratios };
}

function safe(fn, run) {
  try {
    const v = fn(run);
    return Number.isFinite(v) ? v : NaN;
  } catch {
    return NaN;
  }
}

/** The ratio with its "x", or "–" when a side was not measured. */
function ratioText(r) {
  return Number.isFinite(r.ratio) ? `${fmt(r.ratio, "2")}x` : "–";
}

function targetText(r) {
  if (!r || r.target === null) return "";
  return `${r.better === "higher" ? ">=" : "<="} ${r.target}x`;
}

function cell(s, m) {
  if (!s || s.n === 0) return "–";
  return `${fmt(s.median, m.format)} [${fmt(s.min, m.format)}–${fmt(s.max, m.format)}]`;
}

/** Human table for the terminal. */
export function textTable(results) {
  const lines = [];
  const targets = results.targets;
  const header = ["metric", ...targets.map((t) => `${t} median [min–max]`), ...(targets.length > 1 ? ["ratio", "target"] : [])];
  for (const s of results.scenarios) {
    lines.push("", `${s.title}  (${s.name}, ${s.runs.length} runs)`);
    const rows = [header];
    for (const m of [...s.metrics, ...COMMON_METRICS]) {
      const row = [m.label, ...targets.map((t) => cell(s.summary[t]?.[m.key], m))];
      if (targets.length > 1) {
        const r = s.ratios[m.key];
        row.push(r ? ratioText(r) : "", r ? `${targetText(r)}${r.met === null ? "" : r.met ? " met" : " MISSED"}` : "");
      }
      rows.push(row);
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) lines.push("  " + row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   "));
    for (const t of targets) {
      const sum = s.summary[t];
      if (sum?.loadCpuPct?.max > 85) lines.push(`  ! ${t}: the load generator's core was up to ${fmt(sum.loadCpuPct.max, "int")}% busy: throughput may be the load generator's`);
      if (sum?.failed) lines.push(`  ! ${t}: ${sum.failed} run(s) failed: ${s.runs.find((r) => r.target === t && !r.ok).error}`);
      if (sum?.clientErrors) lines.push(`  ! ${t}: ${sum.clientErrors} client-side error(s), e.g. ${s.runs.find((r) => r.target === t && r.errors)?.errorSamples?.[0]}`);
    }
  }
  return lines.join("\n");
}

/** Markdown table (main metrics only) for bench/README.md. */
export function markdownTable(results) {
  const targets = results.targets;
  const both = targets.length > 1;
  const head = ["scenario", "metric", ...targets.map((t) => `${t} median [min–max]`), ...(both ? ["ratio", "target"] : [])];
  const out = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const s of results.scenarios) {
    const context = COMMON_METRICS.filter((m) => m.key === "loadCpuPct" || m.key === "othersPct");
    for (const m of [...s.metrics, ...context]) {
      const r = s.ratios[m.key];
      const row = [s.name, m.label, ...targets.map((t) => cell(s.summary[t]?.[m.key], m))];
      if (both) row.push(r ? ratioText(r) : "", r ? `${targetText(r)}${r.met === null ? "" : r.met ? " ✓" : " ✗"}` : "");
      out.push(`| ${row.join(" | ")} |`);
    }
  }
  return out.join("\n");
}
