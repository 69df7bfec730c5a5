import { defineConfig } from "vitest/config";

/**
 * The long tests (`npm run test:long`, the last step of `npm test`): soaks that drive a relay
 * for minutes and sample its memory, run one file at a time after the main suite so that
 * nothing else competes for the machine.
 */
export default defineConfig({
  test: {
    include: ["test/soak/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
