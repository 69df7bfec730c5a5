/**
 * `shroud demo`: the "see it work" command. Runs the demo scenario (src/demo) on two federated
 * relays in this process and prints its transcript beside what each relay's operator could see;
 * exit code 1 if any check fails.
 */
import { runDemo, type DemoBackend } from "../demo/demo-scenario.js";
import { ShroudError } from "../protocol/errors.js";
import { CliError, line, parseOptions, UsageError, type CliIo } from "./cli-support.js";
import { webDemoCommand } from "./web-demo-command.js";

export const DEMO_USAGE = `Usage: shroud demo [--web] [--redis URL]

Starts two federated relays (providers A and B) in this process and runs an MLS group across
them: alice (on A) creates a group and adds bob and carol (on B) through Welcomes, they chat,
bob and carol commit at the same moment and the group converges on one commit, alice removes
carol, who can read nothing after. Every member reaches the relays only through the other
provider's relay. Each step is printed beside what each relay's operator could see, recorded
from the relays' own request handling and storage; then both relays' stored state is searched
for names, the group's id, epochs and times. Exits 1 if any check fails.

  --web         play it yourself in a browser instead: starts the two relays and a page on a
                loopback port, prints its URL and runs until Ctrl-C (SIGINT or SIGTERM). Alice,
                bob and carol each run the SDK and MLS in the page (one frame each, or one
                window each at ?as=NAME) and talk to their own provider's relay only; buttons
                create the group, invite and remove, and a panel shows what each relay's
                operator saw. The page gets the relays' signed descriptors from the demo
                server, so all a relay gets from a page is POST /v1/relay requests and one
                CORS preflight. The page is built by \`npm run build\` (into dist/).
  --redis URL   run both relays on Redis (redis:// or rediss://), each under a fresh key
                prefix that is deleted afterwards (default: the embedded in-memory store)

Output is laid out in columns at 120 characters or more, one part after another below that.`;

/** Runs `shroud demo`. */
export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(
    args,
    {
      redis: { type: "string" },
      web: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "demo",
  );
  if (values.help) {
    await line(io.stdout, DEMO_USAGE);
    return 0;
  }
  let backend: DemoBackend = "memory";
  if (values.redis !== undefined) {
    if (!/^rediss?:\/\//.test(values.redis)) {
      throw new UsageError("--redis must be a redis:// or rediss:// URL");
    }
    backend = { redisUrl: values.redis };
  }
  if (values.web) return webDemoCommand(io, backend);
  const stdout = io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  const width = stdout.isTTY && stdout.columns ? stdout.columns : 120;
  // Lines are written in order as the demo produces them; all of them before the command ends.
  let written: Promise<void> = Promise.resolve();
  const log = (text: string) => {
    written = written.then(() => line(io.stdout, text));
  };
  try {
    await runDemo({ backend, width, log });
  } catch (error) {
    await written;
    // A failed check (DemoError) or a relay or client failure: one line, exit code 1.
    if (error instanceof ShroudError) throw new CliError(`demo failed: ${error.message}`);
    throw error;
  }
  await written;
  return 0;
}
