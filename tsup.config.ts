import { defineConfig } from "tsup";

// One build per module format, each with code splitting, so that every
// entry of a format shares one copy of each module: `Adapter` from "tidewire"
// is the class `RedisAdapter` from "tidewire/redis" extends, in CommonJS as
// in ESM, and one set of timer lists serves both. Declarations are emitted with
// tsconfig.types.json and wired to the entries by scripts/finish-build.mjs.
const common = {
  sourcemap: true,
  target: "node18",
  splitting: true,
  keepNames: true,
  dts: false,
} as const;

export default defineConfig([
  {
    entry: {
      index: "src/index.ts",
      stream: "src/stream/index.ts",
      redis: "src/redis/index.ts",
      "redis-streams": "src/redis-streams/index.ts",
      metrics: "src/observe/prometheus.ts",
      otel: "src/observe/otel.ts",
      cluster: "src/cluster/index.ts",
    },
    format: ["esm"],
    ...common,
  },
  {
    // cjs: `require("tidewire")`, whose only (default) export rollup makes
    // module.exports; stream, redis, redis-streams, metrics, otel and cluster keep plain named exports.
    entry: {
      cjs: "src/cjs.ts",
      stream: "src/stream/index.ts",
      redis: "src/redis/index.ts",
      "redis-streams": "src/redis-streams/index.ts",
      metrics: "src/observe/prometheus.ts",
      otel: "src/observe/otel.ts",
      cluster: "src/cluster/index.ts",
    },
    format: ["cjs"],
    shims: true,
    ...common,
    // esbuild splits only ESM: with treeshake, tsup has rollup turn each
    // split file into CommonJS, syntax untouched (tsup's default path runs
    // sucrase, which rewrites optional chaining and class fields into helper
    // calls: closures on hot paths).
    treeshake: true,
  },
]);
