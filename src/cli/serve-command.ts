/**
 * `shroud serve`: a relay on the embedded SQLite store (in memory with --store memory, on Redis
 * with --redis) until SIGINT or SIGTERM. It prints its URL and nothing about clients: no addresses, inbox ids or sizes ever
 * reach the console here.
 */
import { DEFAULT_CORS, parseCorsOrigins, type CorsConfig } from "../relay/cors.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { DeadLetterDirectory } from "../adapters/node/dead-letter-directory.js";
import { DEFAULT_INGRESS_LIMITS, type IngressLimits } from "../adapters/node/ingress-limits.js";
import { FaultLog, faultLabel, installFaultHandlers } from "../adapters/node/process-faults.js";
import { redisHosts } from "../adapters/redis/redis-connection.js";
import { MAX_ROUND_SHARDS } from "../adapters/redis/redis-keys.js";
import type { RedisPorts } from "../adapters/redis/redis-ports.js";
import { SQLITE_FILE_NAME } from "../adapters/sqlite/sqlite-database.js";
import { startNodeRelay, type RunningRelay, type StoreLimits } from "../node.js";
import { lockDataDir } from "../adapters/node/data-dir-lock.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import {
  DEFAULT_RELAY_CONFIG,
  MAX_BATCHES_PER_ROUND,
  type FederationConfig,
} from "../relay/relay-config.js";
import {
  CliError,
  cliCommand,
  integerArgument,
  line,
  masterKeyFromEnv,
  redisUrlArgument,
  originArgument,
  parseOptions,
  UsageError,
  within,
  write,
  type CliIo,
} from "./cli-support.js";
import { listenForStop } from "./stop-signals.js";
import { LogFormat, StreamLogger } from "../adapters/node/stream-logger.js";
import { LogLevel, type Logger } from "../relay/ports/logger.js";
import { SERVE_USAGE } from "./usage.js";
import { serveTokens, type ServeTokens } from "./serve-tokens.js";
import {
  isServeWorker,
  onPrimaryStop,
  reportListening,
  superviseWorkers,
} from "./serve-workers.js";

/** Federation settings with a flag of their own: flag, variable, least and largest value. */
const FEDERATION_LIMITS = {
  maxDynamicPeers: ["max-dynamic-peers", "SHROUD_MAX_DYNAMIC_PEERS", 0, 1_000_000],
  peerCacheSize: ["peer-cache", "SHROUD_PEER_CACHE", 1, 1_000_000],
  proxyTimeoutMs: ["proxy-timeout-ms", "SHROUD_PROXY_TIMEOUT_MS", 1, 600_000],
  maxDeadLetters: ["max-dead-letters", "SHROUD_MAX_DEAD_LETTERS", 1, 1_000_000],
  batchesPerRound: ["batches-per-round", "SHROUD_BATCHES_PER_ROUND", 1, MAX_BATCHES_PER_ROUND],
  dynamicLinkMs: ["dynamic-link-ms", "SHROUD_DYNAMIC_LINK_MS", 0, 86_400_000],
} as const;
type FederationLimit = keyof typeof FEDERATION_LIMITS;

/**
 * Store caps with a flag of their own: flag, variable, least and largest value, and whether the
 * cap is the embedded store's alone (Redis is bounded by its own maxmemory).
 */
const STORE_LIMITS = {
  maxInboxes: ["max-inboxes", "SHROUD_MAX_INBOXES", 1, 1e9, false],
  maxStoreBytes: ["max-store-bytes", "SHROUD_MAX_STORE_BYTES", 1024, 2 ** 50, true],
  maxPendingBytes: ["max-pending-bytes", "SHROUD_MAX_PENDING_BYTES", 1024, 2 ** 50, true],
  maxReplayRecords: ["max-replay-records", "SHROUD_MAX_REPLAY_RECORDS", 1, 1e9, true],
} as const;

/** Inbox settings with a flag of their own: flag, variable, least and largest value. */
const INBOX_SETTINGS = {
  maxItems: ["inbox-max-items", "SHROUD_INBOX_MAX_ITEMS", 1, 10_000_000],
  maxBytes: ["inbox-max-bytes", "SHROUD_INBOX_MAX_BYTES", 1024, 2 ** 40],
  retentionDays: ["retention-days", "SHROUD_RETENTION_DAYS", 1, 3650],
} as const;

/** Everything `serve` is configured with, read once from flags and environment. */
export interface ServeConfig {
  port: number;
  host: string;
  /** Public origin; undefined means http://HOST:PORT as bound. */
  origin: string | undefined;
  dataDir: string;
  /**
   * Where inboxes, rounds and replay records live: "sqlite" (the default, DATA_DIR/shroud.db,
   * with the keys), "memory" (lost on exit; keys in DATA_DIR/keys.json) or "redis" (`redis`).
   */
  backend: "sqlite" | "memory" | "redis";
  roundIntervalMs: number;
  /** Per-inbox quota and retention; what is left out keeps RelayConfig's default. */
  inboxes: { quota?: { maxItems?: number; maxBytes?: number }; retentionDays?: number };
  /** Web origins that may use the relay from a browser (default: any). */
  cors: CorsConfig;
  /** Redis backend: URL, key prefix and the key ring's master key; undefined = embedded store. */
  redis:
    | {
        url: string;
        prefix: string;
        masterKey: SecretBytes;
        queueUrl?: string;
        /** Round shards (default 16). */
        roundShards?: number;
      }
    | undefined;
  /** HTTP timeouts, connection caps and per-address limits (defaults: DEFAULT_INGRESS_LIMITS). */
  limits: IngressLimits;
  /** Caps on what the store holds; what is left out keeps the store's default. */
  store: StoreLimits;
  /** The log on stderr: least level and format (default info, text). */
  log: { level: LogLevel; format: LogFormat };
  /** GET /metrics: undefined = off; a token = only with `Authorization: Bearer <token>`. */
  metrics: { token?: SecretBytes } | undefined;
  /**
   * Relay processes sharing the port (node:cluster), on Redis only: the embedded stores are
   * served by one process. Default: one per core on Redis, else 1.
   */
  workers: number;
  /** Privacy Pass: the token requirement, accepted issuers, and issuing with an attester. */
  tokens: ServeTokens;
  /**
   * Federation: "allowlist" of `peers` (none: off) or "open" to any relay; limits and the
   * ingress release if given.
   */
  federation: Pick<FederationConfig, "policy" | "peers"> &
    Partial<Pick<FederationConfig, FederationLimit | "ingressRelease">>;
}

/** Most relay processes `--workers` starts. */
const MAX_WORKERS = 256;

/** How often the embedded store's dead letters are mirrored and dlq requests applied. */
const DEAD_LETTER_SYNC_MS = 5000;
/**
 * How long a shutdown (signal or fatal fault) may take before the process gives up delivering
 * the open round and exits 1: a supervisor gets a process that ends, even with Redis away.
 */
const SHUTDOWN_TIMEOUT_MS = 15_000;
/** Once serve has returned, how long open handles (a Redis reconnect timer) may keep it alive. */
const EXIT_GRACE_MS = 2000;

/** HTTP limits with a flag of their own: flag, variable, least and largest value, unit (ms). */
const INGRESS_LIMITS = {
  headersTimeoutMs: ["headers-timeout", "SHROUD_HEADERS_TIMEOUT", 1, 3600, 1000],
  requestTimeoutMs: ["request-timeout", "SHROUD_REQUEST_TIMEOUT", 1, 3600, 1000],
  keepAliveTimeoutMs: ["keep-alive-timeout", "SHROUD_KEEP_ALIVE_TIMEOUT", 1, 3600, 1000],
  maxConnections: ["max-connections", "SHROUD_MAX_CONNECTIONS", 1, 1_000_000, 1],
  maxConnectionsPerAddress: [
    "max-connections-per-address",
    "SHROUD_MAX_CONNECTIONS_PER_ADDRESS",
    0,
    1_000_000,
    1,
  ],
  requestsPerSecond: ["rate-limit", "SHROUD_RATE_LIMIT", 0, 1_000_000, 1],
  requestBurst: ["rate-burst", "SHROUD_RATE_BURST", 1, 10_000_000, 1],
} as const;

/** Builds the serve configuration: flags first, then SHROUD_* variables, then defaults. */
export function serveConfig(args: string[], env: NodeJS.ProcessEnv): ServeConfig | "help" {
  const values = parseOptions(
    args,
    {
      port: { type: "string" },
      host: { type: "string" },
      origin: { type: "string" },
      data: { type: "string" },
      store: { type: "string" },
      "round-ms": { type: "string" },
      redis: { type: "string" },
      "redis-prefix": { type: "string" },
      "redis-queue": { type: "string" },
      "round-shards": { type: "string" },
      peer: { type: "string", multiple: true },
      federation: { type: "string" },
      "headers-timeout": { type: "string" },
      "request-timeout": { type: "string" },
      "keep-alive-timeout": { type: "string" },
      "max-connections": { type: "string" },
      "max-connections-per-address": { type: "string" },
      "rate-limit": { type: "string" },
      "rate-burst": { type: "string" },
      "trust-proxy": { type: "boolean" },
      metrics: { type: "boolean" },
      "log-level": { type: "string" },
      "inbox-max-items": { type: "string" },
      "inbox-max-bytes": { type: "string" },
      "retention-days": { type: "string" },
      "log-format": { type: "string" },
      "max-dynamic-peers": { type: "string" },
      "peer-cache": { type: "string" },
      "proxy-timeout-ms": { type: "string" },
      "max-dead-letters": { type: "string" },
      "batches-per-round": { type: "string" },
      "dynamic-link-ms": { type: "string" },
      "ingress-release": { type: "string" },
      "cors-origins": { type: "string" },
      "max-inboxes": { type: "string" },
      "max-store-bytes": { type: "string" },
      "max-pending-bytes": { type: "string" },
      "max-replay-records": { type: "string" },
      workers: { type: "string" },
      tokens: { type: "string" },
      "token-free-per-minute": { type: "string" },
      "token-accept": { type: "string", multiple: true },
      attester: { type: "string" },
      "invite-file": { type: "string" },
      "attester-header": { type: "string" },
      "tokens-per-day": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "serve",
  );
  if (values.help) return "help";
  // Each value travels with where it came from, so an error names the flag or the variable.
  const pick = (
    flag: Exclude<keyof typeof values, "peer" | "token-accept">,
    variable: string,
  ): [string, string] | undefined => {
    const given = values[flag];
    if (typeof given === "string") return [given, `--${flag}`];
    const fromEnv = env[variable];
    return fromEnv === undefined || fromEnv === "" ? undefined : [fromEnv, variable];
  };
  const port = pick("port", "SHROUD_PORT");
  const host = pick("host", "SHROUD_HOST");
  const origin = pick("origin", "SHROUD_ORIGIN");
  const data = pick("data", "SHROUD_DATA");
  const round = pick("round-ms", "SHROUD_ROUND_MS");
  const embedded = pick("store", "SHROUD_STORE");
  if (embedded && embedded[0] !== "sqlite" && embedded[0] !== "memory") {
    throw new UsageError(
      `${embedded[1]} must be "sqlite" or "memory", got ${JSON.stringify(embedded[0])}`,
    );
  }
  if (typeof values.data === "string" && typeof values.redis === "string") {
    throw new UsageError("--data and --redis exclude each other: keys live in one place");
  }
  if (typeof values.store === "string" && typeof values.redis === "string") {
    throw new UsageError("--store and --redis exclude each other");
  }
  // An explicit --data or --store means the embedded store, whatever REDIS_URL says.
  const redisUrl =
    typeof values.data === "string" || typeof values.store === "string"
      ? undefined
      : pick("redis", "REDIS_URL");
  const redisPrefix = pick("redis-prefix", "SHROUD_REDIS_PREFIX");
  const redisQueue = pick("redis-queue", "SHROUD_REDIS_QUEUE_URL");
  const policy = pick("federation", "SHROUD_FEDERATION");
  const release = pick("ingress-release", "SHROUD_INGRESS_RELEASE");
  const corsOrigins = pick("cors-origins", "SHROUD_CORS_ORIGINS");
  let cors: CorsConfig = DEFAULT_CORS;
  if (corsOrigins) {
    try {
      cors = parseCorsOrigins(corsOrigins[0], corsOrigins[1]);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  for (const url of [redisUrl, redisQueue]) {
    if (url) redisUrlArgument(url[0], url[1]);
  }
  if (redisQueue && !redisUrl) throw new UsageError(`${redisQueue[1]} needs --redis`);
  const roundShards = pick("round-shards", "SHROUD_ROUND_SHARDS");
  if (roundShards && !redisUrl) throw new UsageError(`${roundShards[1]} needs --redis`);
  if (redisPrefix && !/^[A-Za-z0-9_.-]{1,64}$/.test(redisPrefix[0])) {
    throw new UsageError(`${redisPrefix[1]} must be 1-64 letters, digits, '_', '.' or '-'`);
  }
  let normalized: string | undefined;
  if (origin) {
    try {
      normalized = normalizeOrigin(origin[0]);
    } catch {
      throw new UsageError(`${origin[1]} must be an http or https URL, got "${origin[0]}"`);
    }
  }
  if (host && host[0].trim() === "") throw new UsageError(`${host[1]} must not be empty`);
  if (policy && policy[0] !== "open" && policy[0] !== "allowlist") {
    throw new UsageError(
      `${policy[1]} must be "open" or "allowlist", got ${JSON.stringify(policy[0])}`,
    );
  }
  if (release && release[0] !== "round" && release[0] !== "immediate") {
    throw new UsageError(
      `${release[1]} must be "round" or "immediate", got ${JSON.stringify(release[0])}`,
    );
  }
  const peers = peerOrigins(values.peer, env["SHROUD_PEERS"]);
  const portNumber = port ? integerArgument(port[0], port[1], 0, 65535) : 8787;
  const hostName = host ? host[0].trim() : "127.0.0.1";
  // This relay's own origin, when it is known before binding: a relay is no peer of its own.
  const urlHost = hostName.includes(":") ? `[${hostName}]` : hostName;
  const own =
    normalized ?? (portNumber === 0 ? null : originOrNull(`http://${urlHost}:${portNumber}`));
  const self = peers.find(([peer]) => peer === own);
  if (self) throw new UsageError(`${self[1]} names this relay itself (${self[0]})`);
  const limits: Partial<Pick<FederationConfig, FederationLimit>> = {};
  for (const [name, [flag, variable, min, max]] of Object.entries(FEDERATION_LIMITS)) {
    const given = pick(flag, variable);
    if (given) limits[name as FederationLimit] = integerArgument(given[0], given[1], min, max);
  }
  const ingress: IngressLimits = { ...DEFAULT_INGRESS_LIMITS };
  for (const [name, [flag, variable, min, max, unit]] of Object.entries(INGRESS_LIMITS)) {
    const given = pick(flag, variable);
    if (given)
      ingress[name as keyof typeof INGRESS_LIMITS] =
        integerArgument(given[0], given[1], min, max) * unit;
  }
  if (ingress.headersTimeoutMs > ingress.requestTimeoutMs) {
    throw new UsageError(
      `the header timeout (${ingress.headersTimeoutMs / 1000} s) must not exceed the request ` +
        `timeout (${ingress.requestTimeoutMs / 1000} s), which includes it`,
    );
  }
  ingress.trustProxy = values["trust-proxy"] === true || flagFromEnv(env, "SHROUD_TRUST_PROXY");
  const inboxSetting = (name: keyof typeof INBOX_SETTINGS) => {
    const [flag, variable, min, max] = INBOX_SETTINGS[name];
    const given = pick(flag, variable);
    return given ? integerArgument(given[0], given[1], min, max) : undefined;
  };
  const [maxItems, maxBytes, retentionDays] = [
    inboxSetting("maxItems"),
    inboxSetting("maxBytes"),
    inboxSetting("retentionDays"),
  ];
  const inboxes: ServeConfig["inboxes"] = {
    ...(maxItems === undefined && maxBytes === undefined
      ? {}
      : {
          quota: {
            ...(maxItems === undefined ? {} : { maxItems }),
            ...(maxBytes === undefined ? {} : { maxBytes }),
          },
        }),
    ...(retentionDays === undefined ? {} : { retentionDays }),
  };
  const logLevel = pick("log-level", "SHROUD_LOG_LEVEL");
  if (logLevel && !Object.hasOwn(LogLevel, logLevel[0])) {
    throw new UsageError(`${logLevel[1]} must be debug, info, warn or error, got "${logLevel[0]}"`);
  }
  const logFormat = pick("log-format", "SHROUD_LOG_FORMAT");
  if (logFormat && !Object.hasOwn(LogFormat, logFormat[0])) {
    throw new UsageError(`${logFormat[1]} must be text or json, got "${logFormat[0]}"`);
  }
  const log = {
    level: (logLevel?.[0] ?? "info") as LogLevel,
    format: (logFormat?.[0] ?? "text") as LogFormat,
  };
  // The token only ever comes from the environment: a flag's value shows in `ps`.
  const metricsToken = env["SHROUD_METRICS_TOKEN"]?.trim();
  if (metricsToken !== undefined && metricsToken !== "" && metricsToken.length < 16) {
    throw new UsageError("SHROUD_METRICS_TOKEN must have at least 16 characters");
  }
  const metricsOn =
    values.metrics === true || flagFromEnv(env, "SHROUD_METRICS") || Boolean(metricsToken);
  const metrics = metricsOn
    ? metricsToken
      ? { token: new SecretBytes(new TextEncoder().encode(metricsToken)) }
      : {}
    : undefined;
  const store: StoreLimits = {};
  for (const [name, [flag, variable, min, max, embeddedOnly]] of Object.entries(STORE_LIMITS)) {
    const given = pick(flag, variable);
    if (!given) continue;
    if (embeddedOnly && redisUrl) {
      throw new UsageError(
        `${given[1]} applies to the embedded store only (bound Redis with its maxmemory)`,
      );
    }
    store[name as keyof typeof STORE_LIMITS] = integerArgument(given[0], given[1], min, max);
  }
  const tokens = serveTokens(
    {
      requirement: pick("tokens", "SHROUD_TOKENS"),
      freePerMinute: pick("token-free-per-minute", "SHROUD_TOKEN_FREE_PER_MINUTE"),
      acceptFlags: values["token-accept"],
      acceptEnv: env["SHROUD_TOKEN_ACCEPT"]
        ? [env["SHROUD_TOKEN_ACCEPT"], "SHROUD_TOKEN_ACCEPT"]
        : undefined,
      attester: pick("attester", "SHROUD_ATTESTER"),
      inviteFile: pick("invite-file", "SHROUD_INVITE_FILE"),
      attesterHeader: pick("attester-header", "SHROUD_ATTESTER_HEADER"),
      perDay: pick("tokens-per-day", "SHROUD_TOKENS_PER_DAY"),
    },
    { volatile: !redisUrl && embedded?.[0] === "memory" },
  );
  // "auto" (the default) is one process per core on Redis and one on the embedded SQLite store,
  // where every deposit commits under the file's one write lock (give --workers N to spread the
  // rest of the work); the memory store lives in one process.
  const workers = pick("workers", "SHROUD_WORKERS");
  const workerCount =
    !workers || workers[0].trim() === "auto"
      ? redisUrl
        ? availableParallelism()
        : 1
      : integerArgument(workers[0], workers[1], 1, MAX_WORKERS);
  if (workerCount > 1 && !redisUrl && embedded?.[0] === "memory") {
    throw new UsageError(
      `${workers![1]} needs --redis or the SQLite store: the memory store lives in one process`,
    );
  }
  return {
    workers: Math.min(workerCount, MAX_WORKERS),
    limits: ingress,
    store,
    metrics,
    log,
    port: portNumber,
    host: hostName,
    origin: normalized,
    dataDir: data ? data[0] : ".shroud",
    backend: redisUrl ? "redis" : embedded?.[0] === "memory" ? "memory" : "sqlite",
    roundIntervalMs: round ? integerArgument(round[0], round[1], 0, 86_400_000) : 1000,
    inboxes,
    cors,
    tokens,
    redis: redisUrl
      ? {
          url: redisUrl[0],
          prefix: redisPrefix ? redisPrefix[0] : "shroud",
          masterKey: masterKeyFromEnv(env),
          ...(redisQueue ? { queueUrl: redisQueue[0] } : {}),
          ...(roundShards
            ? { roundShards: integerArgument(roundShards[0], roundShards[1], 1, MAX_ROUND_SHARDS) }
            : {}),
        }
      : undefined,
    federation: {
      policy: policy?.[0] === "open" ? "open" : "allowlist",
      peers: [...new Set(peers.map(([peer]) => peer))],
      ...limits,
      ...(release ? { ingressRelease: release[0] === "round" ? "round" : "immediate" } : {}),
    },
  };
}

/** A yes/no environment variable: 1/true/yes or 0/false/no (unset or empty: no). */
function flagFromEnv(env: NodeJS.ProcessEnv, variable: string): boolean {
  const text = env[variable]?.trim().toLowerCase();
  if (text === undefined || text === "") return false;
  if (["1", "true", "yes"].includes(text)) return true;
  if (["0", "false", "no"].includes(text)) return false;
  throw new UsageError(`${variable} must be 1 or 0, got "${env[variable]}"`);
}

/** Peer origins from --peer (repeatable) or else SHROUD_PEERS (comma-separated), with sources. */
function peerOrigins(
  flags: string[] | undefined,
  fromEnv: string | undefined,
): [origin: string, source: string][] {
  if (flags !== undefined && flags.length > 0) {
    return flags.map((text) => [originArgument(text, "--peer"), "--peer"]);
  }
  const entries = (fromEnv ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return entries.map((text) => [originArgument(text, "SHROUD_PEERS"), "SHROUD_PEERS"]);
}

function originOrNull(text: string): string | null {
  try {
    return new URL(text).origin;
  } catch {
    return null;
  }
}

/** How the startup line names the store. */
function storeNote(config: ServeConfig): string {
  if (config.redis) return `on Redis, prefix ${config.redis.prefix}`;
  if (config.backend === "memory") return `keys in ${config.dataDir}, messages in memory`;
  return `store ${join(config.dataDir, SQLITE_FILE_NAME)}`;
}

/** How the startup line describes federation; empty when it is off. */
function federationNote(federation: ServeConfig["federation"]): string {
  const peers = federation.peers.join(", ");
  if (federation.policy === "open") {
    return `; federation open to any relay${peers ? `, peers ${peers}` : ""}`;
  }
  return peers ? `; federation with ${peers}` : "";
}

/** How the startup line describes Privacy Pass; empty when the relay neither asks nor issues. */
function tokensNote({ tokens, attesterKind }: ServeTokens): string {
  const parts = [
    ...(tokens.requirement === "off" ? [] : [`tokens ${tokens.requirement}`]),
    ...(attesterKind ? [`issuing tokens (${attesterKind} attester)`] : []),
  ];
  return parts.length > 0 ? `; ${parts.join(", ")}` : "";
}

async function start(config: ServeConfig, logger: Logger): Promise<RunningRelay> {
  try {
    return await startNodeRelay({
      logger,
      port: config.port,
      host: config.host,
      dataDir: config.dataDir,
      embedded: config.backend === "memory" ? "memory" : "sqlite",
      ...(isServeWorker() && config.backend === "sqlite" ? { sharedDataDir: true } : {}),
      config: {
        roundIntervalMs: config.roundIntervalMs,
        ...(config.inboxes.quota
          ? { quota: { ...DEFAULT_RELAY_CONFIG.quota, ...config.inboxes.quota } }
          : {}),
        ...(config.inboxes.retentionDays === undefined
          ? {}
          : { retentionDays: config.inboxes.retentionDays }),
        federation: config.federation,
        cors: config.cors,
        tokens: config.tokens.tokens,
      },
      ...(config.tokens.attester ? { attester: config.tokens.attester } : {}),
      limits: config.limits,
      store: config.store,
      ...(config.metrics ? { metrics: config.metrics } : {}),
      ...(config.redis ? { redis: config.redis } : {}),
      ...(config.origin === undefined ? {} : { origin: config.origin }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${config.host}:${config.port}`;
    if (code === "EADDRINUSE") throw new CliError(`cannot listen on ${where}: address in use`);
    if (code === "EACCES") throw new CliError(`cannot listen on ${where}: permission denied`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
      throw new CliError(`cannot listen on ${where}: no such local address`);
    }
    if (config.redis && isRedisError(error)) {
      // Hosts and ports only: the URL may carry a password.
      const where = redisHosts(config.redis.url);
      if (/^MOVED /.test((error as Error).message)) {
        throw new CliError(
          `Redis at ${where} is a cluster node: give the cluster as redis+cluster://${where} ` +
            `(--redis; see shroud serve --help)`,
        );
      }
      throw new CliError(
        `cannot reach Redis at ${where} (${faultLabel(error)}): is it running, and is ` +
          `--redis (REDIS_URL) right?`,
      );
    }
    throw error;
  }
}

/** An error from ioredis (or BullMQ over it) rather than from the relay itself. */
function isRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "MaxRetriesPerRequestError" ||
    error.name === "ReplyError" ||
    error.name === "ClusterAllFailedError" ||
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|Connection is closed|None of startup nodes|^MOVED /.test(
      error.message,
    )
  );
}

/** serve's own lines on stderr (faults, Redis, shutdown): a level, an event name and the text. */
type ProcessLog = (level: LogLevel, event: string, text: string) => void;

/**
 * In text format the lines stay as they read (`shroud: ...`); in JSON each is an event of the
 * relay's log, so a collector gets one format.
 */
function processLog(logger: StreamLogger, format: LogFormat, io: CliIo): ProcessLog {
  if (format === "json") {
    return (level, event, text) => logger.log(level, event, text.replace(/^shroud: /, ""));
  }
  return (_level, _event, text) => void line(io.stderr, text);
}

/**
 * Redis connection errors (the client reconnects by itself): one line per kind of error every
 * few seconds while Redis is away, and one when it is back.
 */
function watchRedis(running: RunningRelay, faults: FaultLog, say: ProcessLog): void {
  const redis = (running.relay.ports as Partial<Pick<RedisPorts, "redis">>).redis;
  if (!redis) return;
  let down = false;
  redis.on("error", (error: unknown) => {
    down = true;
    faults.note("Redis", faultLabel(error));
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    say("info", "redis_restored", "shroud: Redis: connection restored");
  });
}

/**
 * Runs `shroud serve`; resolves with the exit code once the server has closed after a signal
 * (0), or after a fault it cannot outlive or a shutdown that took too long (1).
 */
export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  const config = serveConfig(args, io.env);
  if (config === "help") {
    await line(io.stdout, SERVE_USAGE);
    return 0;
  }
  const logger = new StreamLogger((text) => void write(io.stderr, text), config.log);
  const say = processLog(logger, config.log.format, io);
  const shroud = cliCommand(io.env, process.argv[1]);
  // One write, so whoever waits for the URL line also has the hint.
  const banner = (url: string) => {
    const relayArg = config.origin ?? url;
    const workers = config.workers > 1 ? `; ${config.workers} workers` : "";
    return line(
      io.stdout,
      [
        `shroud relay listening on ${url} (${storeNote(config)}${federationNote(
          config.federation,
        )}${tokensNote(config.tokens)}${workers})`,
        "try it:",
        `  ${shroud} inbox create --relay ${relayArg} --out inbox.json --card card.json`,
        `  echo hello | ${shroud} send --card card.json`,
        `  ${shroud} fetch --inbox inbox.json --ack`,
      ].join("\n"),
    );
  };
  const worker = isServeWorker();
  if (config.workers > 1 && !worker) {
    // On the SQLite store the workers share this process's lock on the data directory.
    const unlock = config.backend === "sqlite" ? lockDataDir(config.dataDir) : () => undefined;
    try {
      return await superviseWorkers({
        count: config.workers,
        io,
        say,
        banner,
        // Each worker has SHUTDOWN_TIMEOUT_MS and then exits by itself; a little more for that.
        shutdownMs: SHUTDOWN_TIMEOUT_MS + EXIT_GRACE_MS + 3000,
      });
    } finally {
      unlock();
    }
  }
  // Listen for signals before the (slow) start, so a signal during start-up still shuts down
  // cleanly instead of killing the process with a half-written key file.
  const signals = listenForStop<"fault" | "stop">();
  if (worker) onPrimaryStop(() => signals.request("stop"));
  // On the primary's stdout only: N workers would repeat every line.
  const status = (text: string) => (worker ? Promise.resolve() : line(io.stdout, text));
  // Faults nobody caught get one line each (class and code, no message or stack). An outage of
  // Redis or the network is lived through; anything else stops the relay as a signal would,
  // exiting 1 for a supervisor to restart it. The handlers stay until the process ends.
  const faults = new FaultLog((text) => say("warn", "fault", text));
  installFaultHandlers(faults, {
    fatal: (label, origin) => {
      say("error", "fatal_fault", `shroud: ${origin}: ${label}; shutting down`);
      signals.request("fault");
    },
  });
  // SIGHUP picks up `shroud keys rotate` at once instead of at the next maintenance run; during
  // start-up there is nothing to reload, but the signal must not end the process either.
  let reload = async () => {};
  const onHangup = () => {
    reload().then(
      () => status("SIGHUP: keys reloaded"),
      () => say("error", "key_reload_failed", "shroud: key reload failed"),
    );
  };
  process.on("SIGHUP", onHangup);
  try {
    const running = await start(config, logger);
    watchRedis(running, faults, say);
    // On the embedded stores, dead letters are mirrored where `shroud federation dlq` finds them.
    const dead = config.redis
      ? undefined
      : new DeadLetterDirectory(join(config.dataDir, "dead-letters"));
    const syncDead = () => dead?.sync(running.relay.ports.federation) ?? Promise.resolve();
    const deadTimer = dead
      ? setInterval(() => void syncDead().catch(() => undefined), DEAD_LETTER_SYNC_MS)
      : undefined;
    reload = async () => {
      await running.relay.reloadKeys();
      await syncDead();
    };
    if (worker) reportListening(running.url);
    else await banner(running.url);
    const reason = await signals.requested;
    clearInterval(deadTimer);
    await status(`${reason}: closing (delivering the open round)`);
    let closed: "closed" | "timeout";
    try {
      closed = await within(
        running.close().then(() => "closed" as const),
        SHUTDOWN_TIMEOUT_MS,
      );
    } catch (error) {
      say("error", "shutdown_failed", `shroud: shutdown failed: ${faultLabel(error)}`);
      return 1;
    }
    if (closed === "timeout") {
      say(
        "error",
        "shutdown_timeout",
        `shroud: shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS / 1000} s; exiting`,
      );
      return 1;
    }
    await status("relay closed");
    return reason === "fault" ? 1 : 0;
  } finally {
    signals.dispose();
    process.removeListener("SIGHUP", onHangup);
    // A handle nobody closed (a Redis client still reconnecting after a failed start) must not
    // keep a finished serve alive for a supervisor waiting on it; unref'd, so a process that
    // ends by itself ends at once.
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  }
}
