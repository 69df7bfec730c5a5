/**
 * The SDK (`shroud`, MLS groups included) bundles for a browser and the relay (`shroud/relay`) for
 * any runtime: esbuild follows every import from the entry, ours and our dependencies', and the
 * test fails if any of them reaches a Node builtin. The architecture test only sees our own
 * files' direct imports; this sees the whole graph.
 */
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * The one builtin a dependency names and a browser never loads: @hpke/common falls back to
 * `await import("crypto")` only where `globalThis.crypto` is missing (Node before 19), so a bundle
 * keeps the dynamic import unresolved (esbuild does by itself) and a browser never runs it.
 */
const GUARDED_FALLBACKS = [/^node_modules\/@hpke\/common\/.* dynamic-import crypto$/];

/** Bundles `entry`, returning its size and every Node builtin reached (with who imports it). */
async function bundle(entry: string, platform: "browser" | "neutral") {
  const reached: string[] = [];
  const recordBuiltins: Plugin = {
    name: "record-node-builtins",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, "").split("/")[0]!;
        if (!args.path.startsWith("node:") && !BUILTINS.has(bare)) return undefined;
        const found = `${relative(root, args.importer)} ${args.kind} ${args.path}`;
        if (!GUARDED_FALLBACKS.some((allowed) => allowed.test(found))) reached.push(found);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform,
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
    // "neutral" resolves no package fields by default; a Worker or a Deno bundler reads these.
    ...(platform === "neutral" ? { mainFields: ["module", "main"] } : {}),
    plugins: [recordBuiltins],
  });
  return { bytes: result.outputFiles[0]!.contents.length, reached };
}

describe("runtime-free entries", () => {
  it("bundles the SDK and its MLS groups for a browser without a Node builtin", async () => {
    const { bytes, reached } = await bundle("src/index.ts", "browser");
    console.log(`shroud (src/index.ts) for the browser: ${(bytes / 1024).toFixed(0)} KiB minified`);
    expect(reached).toEqual([]);
    expect(bytes).toBeGreaterThan(100_000); // the bundle holds ts-mls and HPKE, not just our files
  }, 120_000);

  it("bundles the relay and its in-memory backend for any runtime without a Node builtin", async () => {
    const { bytes, reached } = await bundle("src/relay-exports.ts", "neutral");
    console.log(`shroud/relay (src/relay-exports.ts), neutral: ${(bytes / 1024).toFixed(0)} KiB`);
    expect(reached).toEqual([]);
  }, 120_000);

  it("notices a Node builtin when one is reached (the check above can fail)", async () => {
    const { reached } = await bundle("src/node-exports.ts", "neutral");
    expect(reached.some((r) => r.includes("node:http") || r.includes("node:fs"))).toBe(true);
  }, 120_000);
});
