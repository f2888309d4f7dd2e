import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts", stream: "src/stream/index.ts", redis: "src/redis/index.ts", "redis-streams": "src/redis-streams/index.ts" },
    format: ["esm"],
    dts: true,
    sourcemap: true,
    target: "node18",
    splitting: false,
    keepNames: true,
  },
  {
    entry: { cjs: "src/cjs.ts" },
    format: ["cjs"],
    // The default export (a callable carrying every name) becomes module.exports.
    footer: { js: "module.exports = module.exports.default;" },
    shims: true,
    dts: true,
    sourcemap: true,
    target: "node18",
    splitting: false,
    keepNames: true,
  },
  {
    // tidewire/stream for require(): plain named exports, no default rewrite.
    entry: { stream: "src/stream/index.ts" },
    format: ["cjs"],
    dts: true,
    sourcemap: true,
    target: "node18",
    splitting: false,
    keepNames: true,
  },
  {
    // tidewire/redis and tidewire/redis-streams for require(): plain named exports, no default rewrite.
    entry: { redis: "src/redis/index.ts", "redis-streams": "src/redis-streams/index.ts" },
    format: ["cjs"],
    dts: true,
    sourcemap: true,
    target: "node18",
    splitting: false,
    keepNames: true,
  },
]);
