// Where a CPU profile's time goes, as text: by module (tidewire's own code by
// src/ file, through dist's source maps; each package; node's internals by
// module; GC; native writes and other V8 builtins; "(program)", native time
// outside any JavaScript call), then the top functions by self time and by
// total (inclusive) time. With the number of units the profile covers
// (deliveries, acks, pings…), each figure is also given in µs per unit.
import { readFileSync, existsSync } from "node:fs";
import { relative } from "node:path";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** Native functions that write to a socket (stream_base's bindings, and libuv underneath). */
const NATIVE_WRITES = /^(writev|writeBuffer|write\w*String|writeGeneric|uv_write|shutdown)$/;
/** Native functions that parse or stringify JSON. */
const NATIVE_JSON = /^(stringify|parse|JSONStringify|JSONParse)$/;

/** Source maps of dist/ files, loaded once per file. @type {Map<string, SourceMap | null>} */
const sourceMaps = new Map();

function sourceMapOf(path) {
  if (!sourceMaps.has(path)) {
    let map = null;
    try {
      if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
    } catch {
      map = null;
    }
    sourceMaps.set(path, map);
  }
  return sourceMaps.get(path);
}

/**
 * A call frame's source: its file (a src/ path for tidewire's bundled dist
 * files, a package path, node:…) and line, 1-based.
 * @returns {{ file: string, line: number, kind: "tidewire" | "package" | "node" | "project" | "native" | "vm" }}
 */
function locate(frame) {
  const url = frame.url;
  if (!url) return { file: "", line: 0, kind: frame.functionName.startsWith("(") ? "vm" : "native" };
  if (url.startsWith("node:")) return { file: url, line: frame.lineNumber + 1, kind: "node" };
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("node_modules/");
  if (nm !== -1) return { file: path.slice(nm + 13), line: frame.lineNumber + 1, kind: "package" };
  if (/\/dist\/[^/]+\.(c?js)$/.test(path)) {
    const entry = sourceMapOf(path)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry?.originalSource) {
      const source = entry.originalSource.replace(/^(file:\/\/)?.*?(?=src\/)/, "");
      return { file: source, line: entry.originalLine + 1, kind: "tidewire" };
    }
  }
  return { file: relative(process.cwd(), path), line: frame.lineNumber + 1, kind: "project" };
}

/** The module a frame's self time is counted under. */
function moduleOf(frame, where) {
  switch (where.kind) {
    case "vm":
      if (frame.functionName === "(garbage collector)") return "GC";
      if (frame.functionName === "(program)") return "(program): native, outside JS calls";
      return frame.functionName;
    case "native":
      if (NATIVE_WRITES.test(frame.functionName)) return "native writes (writev, write*String…)";
      if (NATIVE_JSON.test(frame.functionName)) return "native JSON (stringify, parse)";
      return "native: other V8 builtins and bindings";
    case "node": {
      // node:internal/streams/writable → node streams; node:net → node net
      const parts = where.file.slice(5).split("/");
      const name = parts[0] === "internal" ? (parts[1] ?? "internal") : parts[0];
      return `node ${name.replace(/\.js$/, "")}`;
    }
    case "package": {
      const parts = where.file.split("/");
      return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
    }
    case "tidewire":
      return `tidewire ${where.file}`;
    default:
      return where.file;
  }
}

/**
 * Self and total time per function and self time per module of one or
 * several profiles (summed).
 * @param {string[]} files
 */
function aggregate(files) {
  const self = new Map();
  const total = new Map();
  /** function key → where its code lives (tidewire, package, node, project…) */
  const kinds = new Map();
  const modules = new Map();
  let sampled = 0;
  let idle = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, "utf8"));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    /** node id → { key, module } of its frame */
    const info = new Map();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const where = locate(f);
      const name = f.functionName || (f.url ? "(anonymous)" : "(native)");
      const key = where.file ? `${name}  ${where.file}:${where.line}` : name;
      info.set(n.id, { key, module: moduleOf(f, where), vm: where.kind === "vm" });
      kinds.set(key, where.kind);
    }
    /** node id → distinct function keys on its stack (for total time) */
    const stacks = new Map();
    const stackOf = (id) => {
      let keys = stacks.get(id);
      if (keys) return keys;
      const up = parent.get(id);
      const own = info.get(id);
      keys = up === undefined ? [] : stackOf(up);
      if (!own.vm && own.key !== "(root)" && !keys.includes(own.key)) keys = [...keys, own.key];
      stacks.set(id, keys);
      return keys;
    };
    for (let i = 0; i < profile.samples.length; i++) {
      // a sample lasts until the next one
      const dt = profile.timeDeltas[i + 1] ?? 0;
      const id = profile.samples[i];
      const { key, module } = info.get(id);
      sampled += dt;
      if (byId.get(id).callFrame.functionName === "(idle)") {
        idle += dt;
        continue;
      }
      self.set(key, (self.get(key) ?? 0) + dt);
      modules.set(module, (modules.get(module) ?? 0) + dt);
      for (const k of stackOf(id)) total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  return { self, total, kinds, modules, sampled, idle };
}

/**
 * @param {string | string[]} files .cpuprofile path(s); several are summed
 * @param {{ top?: number, units?: number, unitLabel?: string } | number} [options]
 *   top: rows per list; units: what the profiled window did (deliveries, acks…), to show µs per unit
 * @returns {string}
 */
export function summarizeProfile(files, options = {}) {
  const { top = 25, units = 0, unitLabel = "unit" } = typeof options === "number" ? { top: options } : options;
  const list = Array.isArray(files) ? files : [files];
  const { self, total, kinds, modules, sampled, idle } = aggregate(list);
  const busy = sampled - idle;
  const perUnit = units > 0;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(6)}%`;
  const ms = (us) => (us / 1e3).toFixed(1).padStart(9);
  const each = (us) => (perUnit ? `${(us / units).toFixed(us / units < 10 ? 3 : 1).padStart(9)}` : "");
  const name = list.length === 1 ? list[0] : `${list.length} profiles (${list.map((f) => f.split("/").pop()).join(", ")})`;
  const lines = [
    `${name}: ${(sampled / 1e3).toFixed(0)} ms sampled, ${(busy / 1e3).toFixed(0)} ms not idle` +
      (perUnit ? `; ${units.toLocaleString("en-US")} × ${unitLabel}: ${(busy / units).toFixed(busy / units < 10 ? 3 : 1)} µs of non-idle CPU per ${unitLabel}` : ""),
  ];
  const unitHead = perUnit ? `  µs/${unitLabel}` : "";
  lines.push(`  by module (self time):`, `   self ms   % busy${unitHead}  module`);
  for (const [k, us] of [...modules].sort((a, b) => b[1] - a[1])) lines.push(`${ms(us)}  ${pct(us)}${each(us)}  ${k}`);
  lines.push(`  top functions by self time:`, `   self ms   % busy${unitHead}  function`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${ms(us)}  ${pct(us)}${each(us)}  ${k}`);
  lines.push(`  top functions by total time (self + callees; tidewire, packages and the bench app):`, `  total ms   % busy${unitHead}  function`);
  const own = [...total].filter(([k]) => ["tidewire", "package", "project"].includes(kinds.get(k)));
  for (const [k, us] of own.sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${ms(us)}  ${pct(us)}${each(us)}  ${k}`);
  return lines.join("\n");
}
