/**
 * The package as a user gets it: `npm pack` (of the built dist/), unpacked into a scratch project
 * under a temp dir with no network, then used through its export paths only. It runs real code
 * from `shroud`, `shroud/relay` and `shroud/node` in Node, bundles `shroud/worker`, type-checks a
 * consumer under both module resolutions a TypeScript app uses, and compiles every TypeScript
 * example in README.md and docs/SDK.md against the package (not against src/).
 *
 * The scratch project's node_modules holds the unpacked tarball and links to the repository's
 * installed packages that are not dev-only in package-lock.json (so a dist/ file importing a
 * devDependency fails here), plus TypeScript and Node's types, which an app brings itself.
 * `npm test` builds dist/ first; run alone, this builds it when it is missing.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tsc = join(root, "node_modules/typescript/bin/tsc");
/** What an app installs itself to type-check against the package. */
const APP_DEV_PACKAGES = ["typescript", "@types/node", "undici-types"];
/** npm pack, tsc and a child Node on a busy 2-core machine. */
const SLOW = 240_000;

/** Runs a command, failing with its output (tsc reports on stdout) rather than a bare exit code. */
async function sh(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

interface PackedFile {
  path: string;
}

/**
 * The TypeScript code blocks of a Markdown file, each with its line, except those whose info
 * string says `fragment` (a piece of a larger program, shown for reading only).
 */
function codeBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  for (const match of markdown.matchAll(/^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    if (/\bfragment\b/.test(match[2]!)) continue;
    const line = markdown.slice(0, match.index).split("\n").length;
    blocks.push({ line, code: match[3]! });
  }
  return blocks;
}

/** A program that uses each export path for real; it prints "ok" when every check held. */
const SMOKE = `
import {
  acceptInvitations,
  contactCard,
  createInbox,
  GroupSession,
  Member,
  RelayClient,
  ShapingProfiles,
  TransportError,
} from "shroud";
import { createRelayApp, MemoryKeyStore, memoryPorts, Relay, relayConfig } from "shroud/relay";
import { startNodeRelay } from "shroud/node";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error("failed: " + what);
}
const off = { shaping: ShapingProfiles.off };

// A relay inside this process: shroud/relay's app answers the client's requests directly.
const relay = await Relay.open(
  relayConfig({ origin: "http://relay.test", roundIntervalMs: 0 }),
  memoryPorts(),
);
const app = createRelayApp(relay);
const local = await RelayClient.connect("http://relay.test", {
  ...off,
  fetch: async (input, init) => app.fetch(new Request(input, init)),
});
const inbox = await createInbox(local.origin, local.descriptor.signingKey);
const sent = await local.deposit(contactCard(inbox), new TextEncoder().encode("sealed hello"));
check(sent.status === "accepted", "deposit to the in-process relay");
const read = await local.fetchAll(inbox);
check(
  read.status === "ok" && new TextDecoder().decode(read.messages[0]?.payload) === "sealed hello",
  "fetch from the in-process relay",
);

// A relay on Node over HTTP, and an MLS group on it.
const served = await startNodeRelay({ port: 0, keys: new MemoryKeyStore(), config: { roundIntervalMs: 0 } });
try {
  const client = await RelayClient.connect(served.url, off);
  const route = async () => client;
  const alice = await Member.create("alice", client.origin, client.descriptor.signingKey);
  const bob = await Member.create("bob", client.origin, client.descriptor.signingKey);
  const group = await GroupSession.create("friends", alice, client, { route });
  const change = await group.change({ add: [bob.card()] });
  check(change.status === "committed", "commit adding bob");
  const { joined } = await acceptInvitations(bob, client, { route });
  check(joined.length === 1, "bob joins");
  await group.send("hi bob");
  const events = await joined[0]!.sync();
  check(events.some((e) => e.kind === "message" && e.text === "hi bob"), "bob reads alice");
} finally {
  await served.close();
}

// Port 9 (discard) has no relay: the SDK's typed error, not a raw fetch failure.
const refused = await RelayClient.connect("http://127.0.0.1:9", off).catch((e: unknown) => e);
check(refused instanceof TransportError, "TransportError when no relay answers");
console.log("ok");
`;

/** A consumer that leans on the types of the three entries a TypeScript app imports. */
const CONSUMER = `
import {
  ingressRouter,
  RelayClient,
  ShroudError,
  type ContactCard,
  type DepositResult,
  type GroupDeps,
  type GroupEvent,
} from "shroud";
import { memoryPorts, Relay, relayConfig, type InboxStore, type RelayPorts } from "shroud/relay";
import { FileKeyStore, redisPorts, startNodeRelay, type NodeRelayOptions } from "shroud/node";

export function describeDeposit(result: DepositResult): string {
  return result.status === "accepted" ? (result.duplicate ? "again" : "new") : result.status;
}
export function lines(events: GroupEvent[]): string[] {
  return events.map((e) => (e.kind === "message" ? e.sender + ": " + e.text : e.kind));
}
export const options: NodeRelayOptions = { port: 0, keys: new FileKeyStore(".shroud") };
export const ports: RelayPorts = memoryPorts();
export const store: InboxStore = ports.inboxes;
export const open = (origin: string) => Relay.open(relayConfig({ origin }), memoryPorts());
export const serve = startNodeRelay;
export const redis: typeof redisPorts = redisPorts;
export const deps = (ingress: RelayClient): GroupDeps => ({ route: ingressRouter(ingress) });
export const isOurs = (e: unknown): boolean => e instanceof ShroudError;
export type Card = ContactCard;
// @ts-expect-error only the export map's paths are public: no reaching into dist/
export type Deep = typeof import("shroud/dist/client/inbox.js");
`;

/**
 * A consumer's tsconfig. The first check reads the package's declarations whole (skipLibCheck off:
 * a declaration naming a type its dependencies do not ship fails here); the others skip them.
 */
function tsconfig(
  resolution: "node16" | "bundler",
  files: string[],
  options: { outDir?: string; libCheck?: boolean } = {},
): string {
  const { outDir, libCheck = false } = options;
  return JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2023", "DOM"],
      module: resolution === "node16" ? "Node16" : "Preserve",
      moduleResolution: resolution === "node16" ? "Node16" : "Bundler",
      types: ["node"],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: !libCheck,
      ...(outDir ? { outDir, noEmit: false } : { noEmit: true }),
    },
    files,
  });
}

describe("code blocks of the docs", () => {
  it("takes ts blocks with their lines and skips fragments and other languages", () => {
    const markdown = "# x\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n```ts fragment\nb;\n```\n";
    expect(codeBlocks(markdown)).toEqual([{ line: 2, code: "const a = 1;\n" }]);
  });
});

describe("the packed package", () => {
  let temp: string;
  let app: string;
  let packed: PackedFile[];

  beforeAll(async () => {
    if (!existsSync(join(root, "dist/index.js"))) await sh("npm", ["run", "build"], root);
    temp = await mkdtemp(join(tmpdir(), "shroud-pack-"));
    // prepare (the build) is skipped: the tarball takes dist/ as it is.
    const out = await sh(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", temp],
      root,
    );
    const [info] = JSON.parse(out) as [{ filename: string; files: PackedFile[] }];
    packed = info.files;

    app = join(temp, "app");
    const installed = join(app, "node_modules/shroud");
    await mkdir(installed, { recursive: true });
    await sh(
      "tar",
      ["-xzf", join(temp, info.filename), "-C", installed, "--strip-components=1"],
      app,
    );
    await writeFile(
      join(app, "package.json"),
      '{ "name": "app", "private": true, "type": "module" }',
    );

    const lock = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const runtime = Object.entries(lock.packages)
      .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !entry.dev)
      .map(([path]) => path.slice("node_modules/".length));
    for (const name of [...runtime, ...APP_DEV_PACKAGES]) {
      const target = join(root, "node_modules", name);
      if (!existsSync(target)) continue; // an optional package for another platform
      await mkdir(dirname(join(app, "node_modules", name)), { recursive: true });
      await symlink(target, join(app, "node_modules", name), "dir");
    }
  }, SLOW);

  afterAll(async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it("ships the build, the command and the README, and nothing of the sources or tests", () => {
    const paths = packed.map((f) => f.path);
    for (const wanted of [
      "package.json",
      "README.md",
      "bin/shroud.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/relay-exports.js",
      "dist/node-exports.js",
      "dist/worker.js",
      "dist/adapters/redis/lua/inbox-admit.lua",
    ]) {
      expect(paths, wanted).toContain(wanted);
    }
    // Beside dist/ only the command and the package's own files; in dist/ no source maps (they
    // point at sources that are not shipped), no TypeScript sources, no bench or harness.
    const stray = paths.filter(
      (p) =>
        !/^(package\.json|README\.md|LICENSE|bin\/shroud\.js|dist\/.+)$/.test(p) ||
        /\.map$|(?<!\.d)\.ts$|^dist\/(bench-run|privacy-run)\//.test(p),
    );
    expect(stray).toEqual([]);
  });

  it(
    "type-checks a consumer of shroud, shroud/relay and shroud/node under node16 and bundler resolution",
    async () => {
      await writeFile(join(app, "smoke.ts"), SMOKE);
      await writeFile(join(app, "consumer.ts"), CONSUMER);
      const files = ["smoke.ts", "consumer.ts"];
      await writeFile(
        join(app, "tsconfig.json"),
        tsconfig("node16", files, { outDir: "out", libCheck: true }),
      );
      await writeFile(join(app, "tsconfig.bundler.json"), tsconfig("bundler", files));
      await sh(process.execPath, [tsc, "-p", "tsconfig.json"], app);
      await sh(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], app);
    },
    SLOW,
  );

  it(
    "runs from Node: a relay in process and on HTTP, an inbox, an MLS group, typed errors",
    async () => {
      if (!existsSync(join(app, "out/smoke.js"))) {
        await writeFile(join(app, "smoke.ts"), SMOKE);
        await writeFile(
          join(app, "tsconfig.smoke.json"),
          tsconfig("node16", ["smoke.ts"], { outDir: "out" }),
        );
        await sh(process.execPath, [tsc, "-p", "tsconfig.smoke.json"], app);
      }
      expect((await sh(process.execPath, ["out/smoke.js"], app)).trim()).toBe("ok");
    },
    SLOW,
  );

  it(
    "keeps the shroud command working",
    async () => {
      const usage = await sh(
        process.execPath,
        ["node_modules/shroud/bin/shroud.js", "--help"],
        app,
      );
      expect(usage).toContain("serve");
    },
    SLOW,
  );

  it(
    "bundles shroud/worker for the Workers runtime with its Durable Objects",
    async () => {
      const result = await build({
        stdin: {
          contents: 'export { default, InboxObject, RoundObject } from "shroud/worker";',
          resolveDir: app,
        },
        bundle: true,
        platform: "neutral",
        format: "esm",
        mainFields: ["module", "main"],
        conditions: ["workerd", "worker"],
        external: ["cloudflare:*"],
        absWorkingDir: app,
        write: false,
        metafile: true,
        logLevel: "silent",
      });
      const [output] = Object.values(result.metafile.outputs);
      expect(output?.exports.sort()).toEqual(["InboxObject", "RoundObject", "default"]);
      expect(Object.keys(result.metafile.inputs)).toContain("node_modules/shroud/dist/worker.js");
    },
    SLOW,
  );

  it(
    "compiles the TypeScript examples of README.md and docs/SDK.md against the package",
    async () => {
      const files: string[] = [];
      await mkdir(join(app, "examples"), { recursive: true });
      for (const doc of ["README.md", "docs/SDK.md"]) {
        for (const { line, code } of codeBlocks(await readFile(join(root, doc), "utf8"))) {
          // File names carry the block's place, so a compile error names the example.
          const file = `examples/${doc.replace(/\W/g, "-")}-line-${line}.ts`;
          await writeFile(join(app, file), `${code}\nexport {};\n`);
          files.push(file);
        }
      }
      expect(files.length).toBeGreaterThanOrEqual(7);
      await writeFile(join(app, "tsconfig.examples.json"), tsconfig("node16", files));
      await sh(process.execPath, [tsc, "-p", "tsconfig.examples.json"], app);
    },
    SLOW,
  );
});
