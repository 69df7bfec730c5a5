#!/usr/bin/env node
// The CLI runs the compiled dist/. In a clone where `npm ci` has not run (no dependencies, no
// build) the import fails with a long ERR_MODULE_NOT_FOUND stack; say in one line what to do.
let main;
try {
  ({ main } = await import("../dist/cli/main.js"));
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
  const root = new URL("..", import.meta.url).pathname;
  console.error(`shroud: not installed yet: run \`npm ci\` in ${root} (it installs and builds)`);
  process.exit(1);
}

process.exitCode = await main(process.argv.slice(2));
