/** `shroud keys rotate`: add a fresh HPKE key to the relay's key ring on disk. */
import { FileKeyStore } from "../adapters/node/file-key-store.js";
import { rotateKeyRing } from "../relay/key-ring.js";
import { CliError, line, parseOptions, UsageError, type CliIo } from "./cli-support.js";
import { KEYS_USAGE } from "./usage.js";

const HOUR_MS = 3600 * 1000;

function overlapMs(text: string | undefined): number {
  if (text === undefined) return 24 * HOUR_MS;
  const hours = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : NaN;
  // Beyond ten years the overlap stops meaning anything and Date arithmetic gets silly.
  if (!Number.isFinite(hours) || hours > 24 * 365 * 10) {
    throw new UsageError(`--overlap-hours must be a number of hours >= 0, got "${text}"`);
  }
  return Math.round(hours * HOUR_MS);
}

/** Runs `shroud keys <subcommand>`. */
export async function keysCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing keys command, e.g. `shroud keys rotate` (see --help)");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, KEYS_USAGE);
    return 0;
  }
  if (sub !== "rotate") {
    throw new UsageError(`unknown keys command "${sub}" (see \`shroud keys --help\`)`);
  }
  const values = parseOptions(
    rest,
    {
      data: { type: "string" },
      "overlap-hours": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "keys rotate",
  );
  if (values.help) {
    await line(io.stdout, KEYS_USAGE);
    return 0;
  }
  const dataDir = values.data ?? (io.env["SHROUD_DATA"] || ".shroud");
  const overlap = overlapMs(values["overlap-hours"]);
  const store = new FileKeyStore(dataDir);
  const ring = await store.load();
  if (!ring) {
    throw new CliError(
      `no keys in ${dataDir}; start \`shroud serve --data ${dataDir}\` once first`,
    );
  }
  const rotated = await rotateKeyRing(ring, Date.now(), overlap);
  await store.save(rotated.ring);
  // rotateKeyRing appends the new key after the ones it kept.
  const fresh = rotated.ring.hpke.at(-1)!;
  const removed = rotated.removed.length;
  const older = rotated.ring.hpke.length - 1;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  await line(
    io.stdout,
    `new key id ${fresh.keyId}; removed ${plural(removed, "expired key")}; ` +
      `${plural(older, "older key")} retiring within ${overlap / HOUR_MS} h`,
  );
  return 0;
}
