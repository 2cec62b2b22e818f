import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      "libs/*/vitest.config.ts",
      "services/*/vitest.config.ts",
      "test/integration/vitest.config.ts",
      "deploy/vitest.config.ts",
    ],
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
  },
});
