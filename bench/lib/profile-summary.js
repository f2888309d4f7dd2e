// Self time per function of a .cpuprofile, as text.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

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
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // a sample's duration is the delta to the next one
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const f = byId.get(profile.samples[i]).callFrame;
    const key = `${f.functionName || "(anonymous)"}  ${where(f)}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = selfUs.get("(idle)  ") ?? 0;
  const busy = total - idle;
  const lines = [`${file}: ${(total / 1e3).toFixed(0)} ms sampled, ${(busy / 1e3).toFixed(0)} ms not idle`, "  self ms   % busy  function"];
  const rows = [...selfUs].filter(([k]) => k !== "(idle)  ").sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) {
    lines.push(`${(us / 1e3).toFixed(1).padStart(9)} ${((100 * us) / busy).toFixed(1).padStart(7)}%  ${key}`);
  }
  return lines.join("\n");
}
