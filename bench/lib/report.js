// Turning the runs of a benchmark into summaries, a text table for the
// terminal, a Markdown table for bench/README.md, and the JSON record.
import { summarize } from "./stats.js";
import { COMMON_METRICS } from "../scenarios.js";

const REFERENCE = "socket.io";
const CANDIDATE = "tidewire";
/** The bare write-coalescing ws server (bench/calibrate/raw-server.js): a third column where it runs. */
const BARE = "raw";
/** Column names of the targets. */
const LABELS = { raw: "bare ws" };
const label = (target) => LABELS[target] ?? target;

const formatters = {
  int: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
  1: new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  2: new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  3: new Intl.NumberFormat("en-US", { minimumFractionDigits: 3, maximumFractionDigits: 3 }),
};

function fmt(value, format) {
  return Number.isFinite(value) ? formatters[format ?? "2"].format(value) : "–";
}

/** A ratio as printed (two decimals): the verdict is taken on this value, so "0.75x" meets "<= 0.75x". */
function shownRatio(ratio) {
  return Number(formatters[2].format(ratio).replace(/,/g, ""));
}

/** Whether a metric was skipped by the mode of these results (quick mode skips some). */
function notMeasured(m, mode) {
  return mode?.name === "quick" && m.quick === false;
}

const NOT_IN_QUICK = "not measured in --quick";

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
      const shown = shownRatio(ratio);
      const met = m.target === undefined || !Number.isFinite(ratio) ? null : m.better === "higher" ? shown >= m.target : shown <= m.target;
      ratios[m.key] = { ratio, target: m.target ?? null, better: m.better, met };
    }
  }
  // the bare ws server against socket.io, where it ran: how far a plain ws server gets
  const bareRatios = {};
  if (summary[REFERENCE] && summary[BARE]?.rounds > 0) {
    for (const m of metrics) {
      if (m.better) bareRatios[m.key] = { ratio: summary[BARE][m.key].median / summary[REFERENCE][m.key].median };
    }
  }
  return { summary, ratios, bareRatios };
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

/** The median and range over the rounds, or the one value when there is one. */
function cell(s, m) {
  if (!s || s.n === 0) return "–";
  if (s.n === 1) return fmt(s.median, m.format);
  return `${fmt(s.median, m.format)} [${fmt(s.min, m.format)}–${fmt(s.max, m.format)}]`;
}

/** Rounds per target of a results file (retried attempts count once). */
function roundCount(results) {
  return results.mode?.rounds ?? 1;
}

/** Column heading of a target: "median [min–max]" only when there are several rounds to summarise. */
function targetHeading(results, target) {
  return roundCount(results) > 1 ? `${label(target)} median [min–max]` : label(target);
}

/** Ratio and target cells: the verdict only for a metric with a target and both sides measured. */
function verdictCells(r, words) {
  if (!r) return ["", ""];
  if (!Number.isFinite(r.ratio)) return ["–", ""];
  return [ratioText(r), `${targetText(r)}${r.met === null ? "" : r.met ? words.met : words.missed}`];
}

/** Human table for the terminal. */
export function textTable(results) {
  const lines = [];
  const rounds = roundCount(results);
  for (const s of results.scenarios) {
    // the bare ws column only where that server ran (or failed to)
    const targets = results.targets.filter((t) => t !== BARE || s.summary[t]?.rounds > 0 || s.summary[t]?.failed > 0);
    const both = targets.includes(REFERENCE) && targets.includes(CANDIDATE);
    const bare = targets.includes(REFERENCE) && targets.includes(BARE);
    const header = [
      "metric",
      ...targets.map((t) => targetHeading(results, t)),
      ...(both ? ["ratio", "target"] : []),
      ...(bare ? [`${label(BARE)} ratio`] : []),
    ];
    lines.push("", `${s.title}  (${s.name}, ${rounds} round${rounds === 1 ? "" : "s"})`);
    const rows = [header];
    /** A metric this mode does not measure: its label and a note, outside the columns. */
    const notes = [];
    for (const m of [...s.metrics, ...COMMON_METRICS]) {
      if (notMeasured(m, results.mode)) {
        notes.push({ at: rows.length, label: m.label });
        continue;
      }
      const row = [m.label, ...targets.map((t) => cell(s.summary[t]?.[m.key], m))];
      if (both) row.push(...verdictCells(s.ratios[m.key], { met: " met", missed: " MISSED" }));
      if (bare) row.push(s.bareRatios?.[m.key] ? ratioText(s.bareRatios[m.key]) : "");
      rows.push(row);
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length), ...(i === 0 ? notes.map((n) => n.label.length) : [])));
    const line = (row) => ("  " + row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ")).trimEnd();
    rows.forEach((row, i) => {
      for (const note of notes) if (note.at === i) lines.push(`  ${note.label.padEnd(widths[0])}   ${NOT_IN_QUICK}`);
      lines.push(line(row));
    });
    for (const note of notes) if (note.at === rows.length) lines.push(`  ${note.label.padEnd(widths[0])}   ${NOT_IN_QUICK}`);
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
  const both = targets.includes(REFERENCE) && targets.includes(CANDIDATE);
  const bare = targets.includes(REFERENCE) && targets.includes(BARE);
  const head = [
    "scenario",
    "metric",
    ...targets.map((t) => targetHeading(results, t)),
    ...(both ? ["ratio", "target"] : []),
    ...(bare ? [`${label(BARE)} ratio`] : []),
  ];
  const out = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const s of results.scenarios) {
    const context = COMMON_METRICS.filter((m) => m.key === "loadCpuPct" || m.key === "othersPct");
    for (const m of [...s.metrics, ...context]) {
      if (notMeasured(m, results.mode)) {
        out.push(`| ${[s.name, m.label, NOT_IN_QUICK, ...head.slice(3).map(() => "")].join(" | ")} |`);
        continue;
      }
      const row = [s.name, m.label, ...targets.map((t) => cell(s.summary[t]?.[m.key], m))];
      if (both) row.push(...verdictCells(s.ratios[m.key], { met: " ✓", missed: " ✗" }));
      if (bare) row.push(s.bareRatios?.[m.key] ? ratioText(s.bareRatios[m.key]) : "");
      out.push(`| ${row.join(" | ")} |`);
    }
  }
  return out.join("\n");
}
