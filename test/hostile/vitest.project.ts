/**
 * The hostile suite runs as its own vitest project (listed in the root
 * vitest.config.ts, so `npm test` runs it): its workers get `--expose-gc`
 * for the leak checks, which compare the heap after a forced collection
 * with its baseline.
 */
import type { TestProjectInlineConfiguration } from "vitest/config";

const hostile: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: "hostile",
    include: ["test/hostile/**/*.test.ts"],
    execArgv: ["--expose-gc"],
    testTimeout: 30000,
    hookTimeout: 15000,
  },
};

export default hostile;
