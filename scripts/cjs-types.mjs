// After tsup: the CommonJS entry's module.exports is the default export, so
// its declaration file must say `export =` for TypeScript users of require().
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../dist/cjs.d.cts", import.meta.url);
const text = readFileSync(file, "utf8");
const fixed = text.replace(/export \{ (\w+) as default \};\s*$/, "export = $1;\n");
if (fixed === text) throw new Error("dist/cjs.d.cts: expected `export { x as default };` at the end");
writeFileSync(file, fixed);
