/**
 * `shroud serve` reads the store caps once, from flags or SHROUD_* variables, and refuses the
 * embedded store's caps with --redis (Redis is bounded by its own maxmemory).
 */
import { describe, expect, it } from "vitest";
import { serveConfig, type ServeConfig } from "../../src/cli/serve-command.js";

const store = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  (serveConfig(args, env) as ServeConfig).store;
const MASTER_KEY = { SHROUD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") };

describe("serve store caps", () => {
  it("leaves every cap to its store's default when none is given", () => {
    expect(store([])).toEqual({});
  });

  it("reads each cap from its flag or its variable, flags first", () => {
    expect(
      store(["--max-inboxes", "10", "--max-store-bytes", "2048"], {
        SHROUD_MAX_INBOXES: "99",
        SHROUD_MAX_PENDING_BYTES: "4096",
        SHROUD_MAX_REPLAY_RECORDS: "5",
      }),
    ).toEqual({ maxInboxes: 10, maxStoreBytes: 2048, maxPendingBytes: 4096, maxReplayRecords: 5 });
  });

  it("takes --max-inboxes on Redis, and refuses the embedded store's byte and record caps there", () => {
    const redis = ["--redis", "redis://127.0.0.1:6379"];
    expect(store([...redis, "--max-inboxes", "7"], MASTER_KEY)).toEqual({ maxInboxes: 7 });
    for (const flag of ["--max-store-bytes", "--max-pending-bytes", "--max-replay-records"]) {
      expect(() => serveConfig([...redis, flag, "4096"], MASTER_KEY)).toThrow(
        `${flag} applies to the embedded store only`,
      );
    }
  });

  it("refuses a value out of range, naming the flag or the variable", () => {
    expect(() => serveConfig(["--max-inboxes", "0"], {})).toThrow("--max-inboxes must be");
    expect(() => serveConfig([], { SHROUD_MAX_STORE_BYTES: "12" })).toThrow(
      "SHROUD_MAX_STORE_BYTES must be",
    );
  });
});
