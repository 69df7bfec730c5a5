/**
 * The API reference in docs/api (linked from the README and docs/SDK.md) is typedoc's output for
 * the package's entries (typedoc.json). This regenerates it and fails when the committed copy is
 * stale, or when typedoc warns: an export of a public entry without a doc comment, or a type in
 * a public signature that no entry exports.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const committed = join(root, "docs/api");

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("API reference", () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("is typedoc's current output for the public entries, made without a warning", async () => {
    out = await mkdtemp(join(tmpdir(), "shroud-api-"));
    const { stdout, stderr } = await run(
      process.execPath,
      [join(root, "node_modules/typedoc/bin/typedoc"), "--out", out],
      { cwd: root, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
    );
    const log = `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, ""); // eslint-disable-line no-control-regex
    expect(log.split("\n").filter((line) => /\[(warning|error)\]/.test(line))).toEqual([]);

    const fresh = await files(out);
    expect(fresh).toContain("index.html");
    expect(await files(committed), "docs/api is stale: run `npm run docs:api`").toEqual(fresh);
    const stale: string[] = [];
    for (const file of fresh) {
      const [a, b] = await Promise.all([
        readFile(join(out, file)),
        readFile(join(committed, file)),
      ]);
      if (!a.equals(b)) stale.push(file);
    }
    expect(stale, "docs/api is stale: run `npm run docs:api`").toEqual([]);
  }, 180_000);
});
