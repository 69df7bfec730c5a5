/**
 * `npm run dev:worker` on a port other than wrangler.toml's: the Worker must sign the origin it
 * is really reached at into its descriptor, or every client refuses it. npm 11 turns
 * `npm run dev:worker --port N` into npm_config_port=true and a bare "N" argument, so that is
 * the form this test runs (bin/dev-worker.js as npm would start it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { ManagedChild } from "../../testkit/child-process.js";
import { freePort } from "../../testkit/free-port.js";
import { waitFor } from "../../testkit/wait.js";
import { root } from "./support.js";

const state = mkdtempSync(join(tmpdir(), "shroud-dev-worker-"));
let worker: ManagedChild | undefined;

afterAll(async () => {
  await worker?.stop("SIGTERM", 10_000);
  rmSync(state, { recursive: true, force: true });
});

describe("npm run dev:worker --port N", () => {
  it("serves a descriptor for http://127.0.0.1:N", { timeout: 120_000 }, async () => {
    const port = await freePort();
    worker = new ManagedChild(
      "dev-worker",
      process.execPath,
      [join(root, "bin", "dev-worker.js"), String(port), "--persist-to", state],
      { cwd: root, env: { ...process.env, npm_config_port: "true" } },
    );
    const url = `http://127.0.0.1:${port}`;
    // connect() checks the signed descriptor's origin against the URL it was asked for.
    const client = await waitFor(
      () =>
        worker!.running
          ? RelayClient.connect(url, { shaping: ShapingProfiles.off }).catch(
              (error: Error) => error.message,
            )
          : `exited: ${worker!.stderr}`,
      (value) => typeof value !== "string" || value.startsWith("exited"),
      100_000,
      "the dev Worker's descriptor",
    );
    expect(typeof client === "string" ? client : client.origin).toBe(url);
  });
});
