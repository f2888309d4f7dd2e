import { defineConfig } from "tsup";

// One build per module format, each with code splitting, so that every
// entry of a format shares one copy of each module: `Adapter` from "tidewire"
// is the class `RedisAdapter` from "tidewire/redis" extends, in CommonJS as
// in ESM. Declarations are emitted by tsc (tsconfig.types.json) and wired to
// the entries by scripts/finish-build.mjs.
const common = {
  sourcemap: true,
  target: "node18",
  splitting: true,
  keepNames: true,
  dts: false,
} as const;

export default defineConfig([
  {
    entry: { index: "src/index.ts", stream: "src/stream/index.ts", redis: "src/redis/index.ts" },
    format: ["esm"],
    ...common,
  },
  {
    // cjs: `require("tidewire")`, whose default export becomes module.exports
    // (scripts/finish-build.mjs); stream and redis keep plain named exports.
    entry: { cjs: "src/cjs.ts", stream: "src/stream/index.ts", redis: "src/redis/index.ts" },
    format: ["cjs"],
    shims: true,
    ...common,
    // esbuild splits only ESM: with treeshake, tsup has rollup turn each
    // split file into CommonJS (syntax untouched, unlike the default path).
    treeshake: true,
  },
]);
