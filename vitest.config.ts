import { configDefaults, defineConfig } from "vitest/config";
import hostile from "./test/hostile/vitest.project.js";

export default defineConfig({
  test: {
    testTimeout: 15000,
    hookTimeout: 15000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "tidewire",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/hostile/**"],
        },
      },
      hostile,
    ],
  },
});
