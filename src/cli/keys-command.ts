/**
 * `shroud keys rotate`: add a fresh HPKE key to the relay's key ring (in the data directory's
 * SQLite store, or its keys.json when it has no store; in Redis with --redis); `shroud keys
 * new-master-key`: print a random master key for the Redis key ring.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FileKeyStore } from "../adapters/node/file-key-store.js";
import { SQLITE_FILE_NAME } from "../adapters/sqlite/sqlite-database.js";
import { sqlitePorts } from "../adapters/sqlite/sqlite-ports.js";
import { redisPorts } from "../adapters/redis/redis-ports.js";
import { randomBytes, toBase64Url } from "../protocol/bytes.js";
import { rotateKeyRing } from "../relay/key-ring.js";
import type { KeyStore } from "../relay/ports/key-store.js";
import {
  CliError,
  line,
  masterKeyFromEnv,
  redisUrlArgument,
  parseOptions,
  UsageError,
  type CliIo,
} from "./cli-support.js";
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
  if (sub === "new-master-key") {
    await line(io.stdout, toBase64Url(randomBytes(32)));
    return 0;
  }
  if (sub !== "rotate") {
    throw new UsageError(`unknown keys command "${sub}" (see \`shroud keys --help\`)`);
  }
  const values = parseOptions(
    rest,
    {
      data: { type: "string" },
      redis: { type: "string" },
      "redis-prefix": { type: "string" },
      "overlap-hours": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "keys rotate",
  );
  if (values.help) {
    await line(io.stdout, KEYS_USAGE);
    return 0;
  }
  const overlap = overlapMs(values["overlap-hours"]);
  if (values.data !== undefined && values.redis !== undefined) {
    throw new UsageError("--data and --redis exclude each other: keys live in one place");
  }
  // An explicit --data means the key file, whatever REDIS_URL says.
  const redisUrl =
    values.data !== undefined ? undefined : (values.redis ?? (io.env["REDIS_URL"] || undefined));
  let store: KeyStore;
  let where: string;
  let hint: string;
  let close = async () => {};
  // A Redis Cluster node named as one server is refused before anything is read or written.
  let verify = async () => {};
  if (redisUrl) {
    redisUrlArgument(redisUrl, values.redis ? "--redis" : "REDIS_URL");
    const prefix = values["redis-prefix"] ?? (io.env["SHROUD_REDIS_PREFIX"] || "shroud");
    const ports = redisPorts({ url: redisUrl, prefix, masterKey: masterKeyFromEnv(io.env) });
    store = ports.keys;
    where = `Redis (prefix ${prefix})`;
    hint = "shroud serve --redis URL";
    close = () => ports.close();
    verify = () => ports.verify();
  } else {
    const dataDir = values.data ?? (io.env["SHROUD_DATA"] || ".shroud");
    where = dataDir;
    hint = `shroud serve --data ${dataDir}`;
    // The SQLite store, when the directory has one (a serving relay may hold it open: SQLite
    // lets this process in between its transactions); else the in-memory store's key file.
    if (existsSync(join(dataDir, SQLITE_FILE_NAME))) {
      const ports = sqlitePorts({ dataDir });
      store = ports.keys;
      close = () => ports.close();
    } else {
      store = new FileKeyStore(dataDir);
    }
  }
  let rotated: Awaited<ReturnType<typeof rotateKeyRing>>;
  try {
    await verify();
    const ring = await store.load();
    if (!ring) {
      throw new CliError(`no keys in ${where}; start \`${hint}\` once first`);
    }
    rotated = await rotateKeyRing(ring, Date.now(), overlap);
    await store.save(rotated.ring);
  } finally {
    await close();
  }
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
