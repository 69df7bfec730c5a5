/**
 * The repository's root directory, found from wherever this module runs: from source under
 * vitest (testkit/) or compiled with the bench (dist/bench-run/testkit/).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // dist/ has no package.json of its own, so the first one upwards is the repository's.
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no package.json above the testkit");
    dir = parent;
  }
  return dir;
}

/** @example const bin = join(REPO_ROOT, "bin", "shroud.js"); */
export const REPO_ROOT = findRoot();
