/**
 * `shroud demo --web`: the demo's two federated relays and a page on which three people run the
 * SDK in a browser. Prints the page's URLs and runs until SIGINT or SIGTERM. The page's files
 * are built by `npm run build` (esbuild) into dist/demo/web/assets, so an installed package
 * serves them without a bundler.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DemoBackend } from "../demo/demo-relays.js";
import { startWebDemo, type WebAssets } from "../demo/web/web-demo.js";
import { CliError, line, type CliIo } from "./cli-support.js";
import { listenForStop } from "./stop-signals.js";

/** Where `npm run build` puts the page, seen from dist/cli. */
const ASSETS = new URL("../demo/web/assets/", import.meta.url);

function readAssets(): WebAssets {
  const read = (name: string) => readFileSync(new URL(name, ASSETS), "utf8");
  try {
    return { html: read("page.html"), css: read("page.css"), script: read("app.js") };
  } catch {
    throw new CliError(
      `the web demo's page is not built (${fileURLToPath(ASSETS)}): run \`npm run build\``,
    );
  }
}

/**
 * Runs the web demo until a stop signal; exit code 0 after a clean stop.
 *
 * @example await webDemoCommand(processIo, "memory");
 */
export async function webDemoCommand(io: CliIo, backend: DemoBackend): Promise<number> {
  const assets = readAssets();
  const signals = listenForStop();
  try {
    const demo = await startWebDemo({ assets, backend });
    try {
      const { a, b } = demo.relays;
      await line(
        io.stdout,
        [
          "Shroud web demo: two federated relays and three people in your browser",
          `  open ${demo.url}  (all three side by side, and what each relay's operator saw)`,
          ...demo.people.map((p) => `  ${p.name}'s own page: ${p.url}`),
          `  relay A (alice's provider): ${a.url}`,
          `  relay B (bob's and carol's provider): ${b.url}`,
          "Stop with Ctrl-C.",
        ].join("\n"),
      );
      await signals.requested;
    } finally {
      await demo.close();
    }
  } finally {
    signals.dispose();
  }
  await line(io.stdout, "web demo stopped");
  return 0;
}
