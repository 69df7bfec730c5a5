/**
 * The project's dependency rules (CONTRIBUTING.md, "Layout" and "Rules the tests enforce"),
 * checked on the source, the bench, the testkit, the privacy harness and the tests: layers point
 * inward, node: imports stay in adapters and entry points, nothing shipped imports the bench or
 * the testkit, and there are no import cycles.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The top-level folders of TypeScript the rules cover: src by layer, the others whole. */
const FOLDERS = ["src", "bench", "testkit", "privacy", "test"];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

// A statement that starts a line (so "import" in a comment or a string does not count) up to
// its `from`, or a dynamic import.
const IMPORT =
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

interface Module {
  file: string;
  specifiers: string[];
}

const modules: Module[] = FOLDERS.flatMap((folder) => walk(join(root, folder))).map((file) => {
  const text = readFileSync(file, "utf8");
  return {
    file: relative(root, file),
    specifiers: [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!),
  };
});

function resolveLocal(from: string, specifier: string): string {
  return relative(root, resolve(root, dirname(from), specifier)).replace(/\.js$/, ".ts");
}

/** Which area a file belongs to: a layer of src, or a top-level folder as a whole. */
function area(file: string): string {
  const parts = file.split("/");
  if (parts[0] !== "src") return parts[0]!;
  if (parts[1] === "adapters") return `adapters/${parts[2]}`;
  // The SDK's package entry ("shroud") runs in browsers: it follows the client's rules.
  if (file === "src/index.ts") return "sdk";
  // The web demo's page runs in a browser: an area of its own inside the demo.
  if (file.startsWith("src/demo/web/page/")) return "demo/web/page";
  return parts.length > 2 ? parts[1]! : "entry";
}

const isShipped = (file: string) => file.startsWith("src/");

const NODE_ALLOWED = [
  "adapters/node",
  "adapters/redis",
  "adapters/sqlite",
  "cli",
  "entry",
  "bench",
  "testkit",
  "privacy",
  "test",
];
/** The areas each area may import from (its own included); every area has a rule. */
const LOCAL_ALLOWED: Record<string, string[]> = {
  protocol: ["protocol"],
  relay: ["protocol", "relay"],
  client: ["protocol", "client"],
  sdk: ["protocol", "client"],
  "adapters/memory": ["protocol", "relay", "adapters/memory"],
  "adapters/node": ["protocol", "relay", "adapters/node"],
  "adapters/redis": ["protocol", "relay", "adapters/redis"],
  "adapters/workers": ["protocol", "relay", "adapters/sql", "adapters/workers"],
  // The SQL shared by the Durable Objects and the SQLite store: the Workers import it, so it
  // names no runtime (no node:, no cloudflare:, no package).
  "adapters/sql": ["protocol", "relay", "adapters/sql"],
  // The SQLite store reuses the memory adapter's round timer and caps.
  "adapters/sqlite": ["protocol", "relay", "adapters/sql", "adapters/memory", "adapters/sqlite"],
  entry: [
    "protocol",
    "relay",
    "adapters/memory",
    "adapters/node",
    "adapters/redis",
    "adapters/sqlite",
    "adapters/workers",
    // The package's entries re-export the Node entry point (src/node-exports.ts).
    "entry",
  ],
  demo: [
    "protocol",
    "relay",
    "client",
    "adapters/memory",
    "adapters/redis",
    "demo",
    "demo/web/page",
  ],
  // Bundled for the browser (esbuild, platform "browser"): the SDK and itself, nothing else.
  "demo/web/page": ["protocol", "client", "demo/web/page"],
  cli: [
    "protocol",
    "relay",
    "client",
    "adapters/node",
    "adapters/redis",
    "adapters/sqlite",
    "demo",
    "entry",
    "cli",
  ],
  // Outside src, nothing shipped may import these folders (see "keeps the bench and the
  // testkit out of src"). The bench drives everything and shares the testkit with the tests.
  bench: [
    "protocol",
    "relay",
    "client",
    "adapters/memory",
    "adapters/node",
    "adapters/redis",
    "adapters/sqlite",
    "entry",
    "testkit",
    "bench",
  ],
  testkit: ["protocol", "relay", "client", "adapters/memory", "entry", "testkit"],
  privacy: [
    "protocol",
    "relay",
    "client",
    "adapters/memory",
    "entry",
    "demo",
    "bench",
    "testkit",
    "privacy",
  ],
  // The tests reach every layer and the testkit, never into the bench.
  test: [
    "protocol",
    "relay",
    "client",
    "adapters/memory",
    "adapters/node",
    "adapters/redis",
    "adapters/sql",
    "adapters/sqlite",
    "adapters/workers",
    "entry",
    "demo",
    "cli",
    "testkit",
    "test",
  ],
};

/** The packages each area may import; every area has a rule. */
const PACKAGES_ALLOWED: Record<string, RegExp> = {
  protocol: /^@hpke\/(core|chacha20poly1305)$/,
  relay: /^hono(\/.*)?$/,
  client: /^ts-mls(\/privateMessage\.js)?$/,
  sdk: /^$/,
  "adapters/memory": /^$/,
  "adapters/node": /^@hpke\/(core|common)$/,
  "adapters/redis": /^(ioredis|bullmq)$/,
  "adapters/workers": /^(cloudflare:workers|hono)$/,
  "adapters/sql": /^$/,
  "adapters/sqlite": /^better-sqlite3$/,
  entry: /^(hono|@hono\/node-server)$/,
  demo: /^(ioredis|@hono\/node-server)$/,
  "demo/web/page": /^$/,
  cli: /^$/,
  // hono and @hono/node-server: the floor server is the relay's HTTP stack without the relay.
  bench: /^(@hpke\/core|ioredis|ts-mls|hono|@hono\/node-server)$/,
  testkit: /^(ioredis|wrangler|@testcontainers\/redis|vitest)$/,
  privacy: /^$/,
  test: /./,
};

describe("architecture", () => {
  it("finds the source", () => {
    expect(modules.length).toBeGreaterThan(20);
  });

  it("has a rule for every area, so a new one must say what it may import", () => {
    const areas = [...new Set(modules.map((m) => area(m.file)))].sort();
    expect(areas.filter((a) => !LOCAL_ALLOWED[a] || !PACKAGES_ALLOWED[a])).toEqual([]);
  });

  it("covers every top-level folder that holds TypeScript", () => {
    const skipped = new Set(["node_modules", "dist", ".git", ".wrangler"]);
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !skipped.has(e.name))
      .filter((e) => walk(join(root, e.name)).length > 0)
      .map((e) => e.name);
    expect(folders.filter((f) => !FOLDERS.includes(f))).toEqual([]);
  });

  it("keeps the bench and the testkit out of src", () => {
    const offenders = modules.flatMap((m) =>
      m.specifiers
        .filter((s) => s.startsWith(".") && isShipped(m.file))
        .map((s) => resolveLocal(m.file, s))
        .filter((to) => to.startsWith("bench/") || to.startsWith("testkit/"))
        .map((to) => `${m.file} -> ${to}`),
    );
    expect(offenders).toEqual([]);
  });

  it("keeps node: imports in adapters, the CLI and entry points", () => {
    const offenders = modules.flatMap((m) =>
      m.specifiers
        .filter((s) => s.startsWith("node:") && !NODE_ALLOWED.includes(area(m.file)))
        .map((s) => `${m.file} imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it("reaches ts-mls internals (a deep import) only through src/client/mls/sender-data.ts", () => {
    const offenders = modules.flatMap((m) =>
      m.specifiers
        .filter((s) => s.startsWith("ts-mls/") && m.file !== "src/client/mls/sender-data.ts")
        .map((s) => `${m.file} imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it("points dependencies inward", () => {
    const offenders: string[] = [];
    for (const m of modules) {
      const from = area(m.file);
      for (const s of m.specifiers) {
        if (s.startsWith(".")) {
          const to = area(resolveLocal(m.file, s));
          const allowed = LOCAL_ALLOWED[from];
          if (allowed && !allowed.includes(to)) offenders.push(`${m.file} -> ${to}`);
        } else if (!s.startsWith("node:")) {
          const rule = PACKAGES_ALLOWED[from];
          if (rule && !rule.test(s)) offenders.push(`${m.file} -> package ${s}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map(
      modules.map((m) => [
        m.file,
        m.specifiers.filter((s) => s.startsWith(".")).map((s) => resolveLocal(m.file, s)),
      ]),
    );
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("resolves every relative import to a file", () => {
    const known = new Set(modules.map((m) => m.file));
    const missing = modules.flatMap((m) =>
      m.specifiers
        .filter((s) => s.startsWith("."))
        .map((s) => resolveLocal(m.file, s))
        .filter((f) => !known.has(f)),
    );
    expect(missing).toEqual([]);
  });
});
