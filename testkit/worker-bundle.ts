/**
 * The Worker bundle `wrangler deploy` would upload (wrangler.toml's `main`, bundled with
 * esbuild), built offline without a login. Serving this bundle instead of letting wrangler's
 * dev server bundle the sources keeps the Worker from reloading mid-run whenever a source file
 * is saved, and runs exactly what would be deployed.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./repo-root.js";

/**
 * Builds the bundle into `outDir` (with bundle-meta.json beside it) and returns the path of
 * its entry module.
 *
 * @example const entry = await buildWorkerBundle(await mkdtemp(join(tmpdir(), "bundle-")));
 */
export async function buildWorkerBundle(outDir: string): Promise<string> {
  await promisify(execFile)(
    join(REPO_ROOT, "node_modules", ".bin", "wrangler"),
    ["deploy", "--dry-run", "--outdir", outDir, "--metafile"],
    {
      cwd: REPO_ROOT,
      timeout: 60_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  return join(outDir, "worker.js");
}
