import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node18",
    splitting: false,
  },
  {
    entry: { cjs: "src/cjs.ts" },
    format: ["cjs"],
    dts: true,
    sourcemap: true,
    target: "node18",
    splitting: false,
  },
]);
