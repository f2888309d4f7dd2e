// Self time per function of a .cpuprofile, as text.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

/** Where self time goes, coarsely: a package, node's internals, the project's files, or native code. */
function area(frame) {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "native (no script)";
  if (url.startsWith("node:")) return "node internals";
  const nm = url.lastIndexOf("node_modules/");
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  return relative(process.cwd(), url.replace(/^file:\/\//, ""));
}

function where(frame) {
  if (!frame.url) return "";
  const url = frame.url.replace(/^file:\/\//, "");
  const short = url.includes("node_modules/") ? url.slice(url.lastIndexOf("node_modules/") + 13) : relative(process.cwd(), url);
  return `${short}:${frame.lineNumber + 1}`;
}

/**
 * @param {string} file path of a .cpuprofile
 * @param {number} top rows to print
 * @returns {string}
 */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const byArea = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // a sample's duration is the delta to the next one
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const f = byId.get(profile.samples[i]).callFrame;
    const key = `${f.functionName || (f.url ? "(anonymous)" : "(native)")}  ${where(f)}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    const a = area(f);
    byArea.set(a, (byArea.get(a) ?? 0) + dt);
    total += dt;
  }
  const idle = selfUs.get("(idle)  ") ?? 0;
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(7)}%`;
  const lines = [`${file}: ${(total / 1e3).toFixed(0)} ms sampled, ${(busy / 1e3).toFixed(0)} ms not idle`];
  const areas = [...byArea].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]);
  lines.push(`  by area: ${areas.map(([k, us]) => `${k} ${pct(us).trim()}`).join(", ")}`, "  self ms   % busy  function");
  const rows = [...selfUs].filter(([k]) => k !== "(idle)  ").sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) {
    lines.push(`${(us / 1e3).toFixed(1).padStart(9)} ${pct(us)}  ${key}`);
  }
  return lines.join("\n");
}
