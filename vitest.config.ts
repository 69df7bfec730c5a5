import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Test-only Worker secrets: a fixed master key and admin token, never used anywhere else. */
const WORKER_TEST_SECRETS = {
  SHROUD_MASTER_KEY: "c2hyb3VkIHdvcmtlcnMgdGVzdCBtYXN0ZXIga2V5ISE",
  SHROUD_ADMIN_TOKEN: "workers-test-admin-token",
};

export default defineConfig({
  test: {
    // Two test files at a time on this 2-core machine (vitest's default is cores - 1): most
    // files wait on timers, rounds and child processes, so the suite takes ~7.5 minutes
    // instead of ~13, which keeps CI within its budget.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          // The soak runs on its own (vitest.long.config.ts), with the machine to itself.
          exclude: ["test/workers/**", "test/soak/**"],
        },
      },
      {
        extends: true,
        // ts-mls ships source maps that point at missing files: one warning per module.
        logLevel: "error",
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ...WORKER_TEST_SECRETS, SHROUD_ROUND_MS: "60000" },
              queueConsumers: {
                // Fewer platform retries than production so the dead-letter queue is reached
                // in seconds; the conformance suite's batches need at most 4 attempts.
                "shroud-federation": {
                  maxBatchTimeout: 0.05,
                  maxRetries: 5,
                  deadLetterQueue: "shroud-federation-dlq",
                },
                "shroud-federation-dlq": { maxBatchTimeout: 0.05 },
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
        },
      },
    ],
  },
});
