#!/usr/bin/env node
/**
 * `npm run dev:worker`: the relay as a Worker on http://127.0.0.1:8788 under `wrangler dev
 * --local`, offline and with no Cloudflare login. The Worker refuses to start without the
 * SHROUD_MASTER_KEY secret, which wrangler reads locally from .dev.vars; a first run writes one
 * with a fresh key so the relay works at once. Extra arguments go to wrangler unchanged.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");

// "wx" fails if the file exists, so a key someone already has (and state sealed under it in
// .wrangler/state) is never replaced, and there is no window between a check and the write.
try {
  const key = randomBytes(32).toString("base64url");
  writeFileSync(devVars, `SHROUD_MASTER_KEY=${key}\n`, { flag: "wx", mode: 0o600 });
  console.log("dev-worker: wrote .dev.vars with a new random SHROUD_MASTER_KEY (mode 0600)");
  // The key ring in local state is sealed under the key that created it; a new key cannot open
  // it and the Worker answers 503. Deleting state is the user's call, so only say so.
  if (existsSync(join(root, ".wrangler", "state", "v3", "do", "shroud-KeyRingObject"))) {
    console.log(
      "dev-worker: .wrangler/state holds a relay sealed under an earlier key; " +
        "remove it (rm -rf .wrangler/state) or the Worker answers 503",
    );
  }
} catch (error) {
  if (error.code !== "EEXIST") {
    console.error(`dev-worker: cannot write .dev.vars: ${error.message}`);
    process.exit(1);
  }
}

// The relay signs its own origin into its descriptor, and wrangler.toml names port 8788. With
// another --port (given after `--`, or as `npm run dev:worker --port N`, which npm turns into
// npm_config_port), the origin must follow, or clients read a descriptor for the wrong URL.
// npm 11 reads `--port 9000` before `--` as a flag of its own: npm_config_port is "true" and
// "9000" arrives as the first argument.
const args = process.argv.slice(2);
const portAt = args.findIndex((arg) => arg === "--port" || arg.startsWith("--port="));
let port;
if (portAt >= 0) {
  port = args[portAt].startsWith("--port=") ? args[portAt].slice(7) : args[portAt + 1];
} else if (process.env.npm_config_port === "true" && /^\d+$/.test(args[0] ?? "")) {
  port = args.shift();
} else {
  port = process.env.npm_config_port;
}
const extra = [];
if (port !== undefined && port !== "") {
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    console.error(`dev-worker: --port must be a port number, got "${port}"`);
    process.exit(2);
  }
  if (portAt < 0) extra.push("--port", port);
  if (!args.some((arg) => arg.includes("SHROUD_ORIGIN"))) {
    extra.push("--var", `SHROUD_ORIGIN:http://127.0.0.1:${port}`);
  }
}

const wrangler = join(root, "node_modules", ".bin", "wrangler");
const child = spawn(
  wrangler,
  ["dev", "--local", "--show-interactive-dev-session=false", ...args, ...extra],
  {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);

// Ctrl-C in a terminal reaches the whole process group already; forwarding matters when only
// this process is signalled (a supervisor, `kill PID`), so wrangler can stop workerd cleanly.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}

child.on("error", (error) => {
  console.error(`dev-worker: cannot start ${wrangler}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  // The shell convention for a child killed by a signal: 128 + its number.
  process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
});
