// Summarises .cpuprofile files: time by module (tidewire's src/ files through
// dist's source maps, packages, node internals, GC, native writes) and the top
// functions by self and by total time. `npm run bench -- --profile server`
// (or --cpu-prof) writes window-only profiles to bench/results/profiles/ and
// prints these summaries at the end of the run.
//   node bench/profile-summary.js <file.cpuprofile>... [--top N] [--merge] [--units N --unit delivery]
// --merge sums the files into one summary (e.g. the rounds of one scenario and
// target); --units gives each figure in µs per unit as well.
import { summarizeProfile } from "./lib/profile-summary.js";

const args = process.argv.slice(2);
let top = 25;
let merge = false;
let units = 0;
let unitLabel = "unit";
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else if (args[i] === "--merge") merge = true;
  else if (args[i] === "--units") units = Number(args[++i]);
  else if (args[i] === "--unit") unitLabel = args[++i];
  else files.push(args[i]);
}
if (files.length === 0 || !Number.isInteger(top) || top < 1 || !(units >= 0)) {
  console.error("usage: node bench/profile-summary.js <file.cpuprofile>... [--top N] [--merge] [--units N --unit name]");
  process.exit(2);
}
const groups = merge ? [files] : files.map((f) => [f]);
for (const group of groups) console.log(`\n${summarizeProfile(group, { top, units, unitLabel })}`);
