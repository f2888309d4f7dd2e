// Summarises .cpuprofile files by function: self time and share of the
// non-idle samples. `npm run bench -- --profile` writes window-only profiles
// to bench/results/profiles/.
//   node bench/profile-summary.js <file.cpuprofile>... [--top N]
import { summarizeProfile } from "./lib/profile-summary.js";

const args = process.argv.slice(2);
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0 || !Number.isInteger(top) || top < 1) {
  console.error("usage: node bench/profile-summary.js <file.cpuprofile>... [--top N]");
  process.exit(2);
}
for (const file of files) console.log(`\n${summarizeProfile(file, top)}`);
