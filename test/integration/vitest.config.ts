import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "integration",
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration files start real servers and processes: one file at a time keeps a 2-core machine honest.
    fileParallelism: false,
  },
});
