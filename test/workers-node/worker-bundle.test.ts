/**
 * What reaches the Worker bundle: wrangler builds it exactly as `wrangler deploy` would (dry run,
 * no login, offline) and the test reads esbuild's metafile. Node-only code (ioredis, BullMQ, the
 * Node HTTP server, the CLI, the bench, node: modules) must stay out, and the only imports left
 * for the runtime to resolve are an exact allow-list.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorkerBundle } from "../../testkit/worker-bundle.js";

/** The parts of esbuild's metafile this test reads. */
interface Metafile {
  inputs: Record<string, { bytes: number; imports: MetaImport[] }>;
  outputs: Record<string, { bytes: number; entryPoint?: string; imports: MetaImport[] }>;
}

interface MetaImport {
  path: string;
  kind: string;
  external?: boolean;
}

/**
 * Every import left unbundled, as "importer -> specifier (kind)". `cloudflare:workers` is the
 * runtime's own module (DurableObject base class). `crypto` is @hpke/common's fallback for
 * Node <= 18: it sits behind `globalThis.crypto !== undefined`, which always holds in workerd, so
 * the import never runs. wrangler's [alias] does not rewrite dynamic imports (tried: the import
 * stays), so no stub module would remove it; the test pins it to those two files instead.
 */
const ALLOWED_EXTERNALS = [
  "node_modules/@hpke/common/esm/src/algorithm.js -> crypto (dynamic-import)",
  "node_modules/@hpke/common/esm/src/utils/misc.js -> crypto (dynamic-import)",
  ...[
    "expiry-object",
    "federation-object",
    "inbox-object",
    "key-ring-object",
    "metrics-object",
    "replay-object",
    "round-object",
  ].map((o) => `src/adapters/workers/objects/${o}.ts -> cloudflare:workers (import-statement)`),
].sort();

/** Packages whose code is in the bundle; ts-mls is client-side and must not be among them. */
const ALLOWED_PACKAGES = ["@hpke/chacha20poly1305", "@hpke/common", "@hpke/core", "hono"];

const FORBIDDEN_INPUTS = [
  "node_modules/ioredis/",
  "node_modules/bullmq/",
  "node_modules/@hono/node-server/",
  "node_modules/ts-mls/",
  "src/adapters/redis/",
  "src/adapters/node/",
  "src/adapters/memory/",
  "src/adapters/sqlite/",
  "node_modules/better-sqlite3/",
  "src/cli/",
  "bench/",
  "testkit/",
  "src/client/",
  "src/demo/",
  "src/node.ts",
];

/** Well above today's ~260 KiB (~63 KiB gzip), far below Workers' 3 MiB gzip limit (free plan). */
const MAX_BYTES = 512 * 1024;
const MAX_GZIP_BYTES = 128 * 1024;

let outdir: string;
let meta: Metafile;
let bundle: Buffer;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "shroud-bundle-"));
  const entry = await buildWorkerBundle(outdir);
  meta = JSON.parse(await readFile(join(outdir, "bundle-meta.json"), "utf8")) as Metafile;
  bundle = await readFile(entry);
}, 90_000);

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

/** Package name of a node_modules path, scoped or not. */
function packageOf(input: string): string | undefined {
  return /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
}

/** esbuild's helper pseudo-module, not an import anyone wrote. */
const isRuntime = (i: MetaImport) => i.path === "<runtime>";

describe("the Worker bundle", () => {
  it("is built from src/worker.ts into one module", () => {
    const entries = Object.values(meta.outputs).filter((o) => o.entryPoint);
    expect(entries.map((o) => o.entryPoint)).toEqual(["src/worker.ts"]);
  });

  it("holds no Node-only code", () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs.length).toBeGreaterThan(50);
    expect(inputs.filter((i) => FORBIDDEN_INPUTS.some((f) => i.startsWith(f)))).toEqual([]);
    // Every source file is the protocol, the relay, the runtime-free SQL the Durable Objects
    // share with the SQLite store, the Workers adapter or the Worker entry.
    expect(
      inputs.filter(
        (i) =>
          !i.startsWith("node_modules/") &&
          !/^src\/(protocol|relay|adapters\/sql|adapters\/workers)\//.test(i),
      ),
    ).toEqual(["src/worker.ts"]);
    const packages = new Set(inputs.map(packageOf).filter((p) => p !== undefined));
    expect([...packages].sort()).toEqual(ALLOWED_PACKAGES);
  });

  it("imports no node: module", () => {
    const all = [...Object.values(meta.inputs), ...Object.values(meta.outputs)].flatMap(
      (f) => f.imports,
    );
    expect(all.filter((i) => i.path.startsWith("node:")).map((i) => i.path)).toEqual([]);
    expect(bundle.toString("utf8")).not.toMatch(/["']node:[a-z_/]+["']/);
  });

  it("leaves only the allow-listed imports to the runtime", () => {
    const externals = Object.entries(meta.inputs)
      .flatMap(([input, { imports }]) =>
        imports
          .filter((i) => i.external && !isRuntime(i))
          .map((i) => `${input} -> ${i.path} (${i.kind})`),
      )
      .sort();
    // misc.js has two fallbacks (crypto and crypto.subtle); the set is what is allowed.
    expect([...new Set(externals)]).toEqual(ALLOWED_EXTERNALS);
    const output = Object.values(meta.outputs).find((o) => o.entryPoint)!;
    const outputExternals = new Set(
      output.imports.filter((i) => !isRuntime(i)).map((i) => `${i.path} (${i.kind})`),
    );
    expect([...outputExternals].sort()).toEqual([
      "cloudflare:workers (import-statement)",
      "crypto (dynamic-import)",
    ]);
  });

  it("stays small", () => {
    const gzip = gzipSync(bundle).length;
    console.log(
      `worker bundle: ${(bundle.length / 1024).toFixed(1)} KiB, gzip ${(gzip / 1024).toFixed(1)} KiB`,
    );
    expect(bundle.length).toBeLessThan(MAX_BYTES);
    expect(gzip).toBeLessThan(MAX_GZIP_BYTES);
  });
});
