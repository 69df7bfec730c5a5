/**
 * The relays the Privacy Pass part measures, started in this process with startNodeRelay (the
 * HTTP stack `shroud serve` runs, on loopback) on the embedded memory store with its keys in a
 * MemoryKeyStore (no data directory), and the per-address request rate and connection cap off:
 * all the load comes from one loopback address and those limits would cap it. One relay issues
 * (an invite attester, `tokens.issue`); the deposit relays take its tokens and differ only in
 * `tokens.requirement`, so that a deposit with a token and one without meet the same relay.
 * Info lines are dropped (a relay logs its start); warnings and errors still reach stderr.
 */
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { inviteAttester } from "../../src/relay/attester.js";
import { textLogLine, type Logger } from "../../src/relay/ports/logger.js";
import type { TokenConfig } from "../../src/relay/relay-config.js";
import { DEFAULT_TOKEN_KEY_LIFETIME_MS } from "../../src/relay/token-keys.js";
import type { Cleanup } from "../common/cleanup.js";

/** The invite secret the bench's clients present to the issuer. */
const BENCH_INVITE = "bench-invite-secret";

/** Headers that get a client past the issuer's invite attester. */
export const BENCH_ATTESTATION: Readonly<Record<string, string>> = Object.freeze({
  authorization: `Bearer ${BENCH_INVITE}`,
});

const quietLogger: Logger = {
  log(level, _event, message, fields) {
    if (level === "warn" || level === "error") console.error(textLogLine(level, message, fields));
  },
};

/** The limits a relay on loopback under one load client needs off. */
const OPEN_LIMITS = { requestsPerSecond: 0, maxConnectionsPerAddress: 0 };

async function start(
  name: string,
  roundMs: number,
  tokens: TokenConfig,
  cleanup: Cleanup,
  issuer: boolean,
): Promise<RunningRelay> {
  const relay = await startNodeRelay({
    port: 0,
    keys: new MemoryKeyStore(),
    limits: OPEN_LIMITS,
    logger: quietLogger,
    config: { roundIntervalMs: roundMs, tokens },
    ...(issuer ? { attester: inviteAttester([BENCH_INVITE]) } : {}),
  });
  const close = cleanup.add({ name, stop: () => relay.close(), now: () => undefined });
  return { ...relay, close };
}

/**
 * The issuer: signs batches of up to `maxBatch` for the bench's invite, with an allowance no run
 * reaches; it asks for no tokens itself.
 *
 * @example const issuer = await startIssuerRelay(1000, 100, cleanup);
 */
export function startIssuerRelay(
  roundMs: number,
  maxBatch: number,
  cleanup: Cleanup,
): Promise<RunningRelay> {
  const tokens: TokenConfig = {
    requirement: "off",
    freePerMinute: 0,
    accept: [],
    issue: {
      perPeriod: 1_000_000_000,
      periodMs: 86_400_000,
      maxBatch,
      keyLifetimeMs: DEFAULT_TOKEN_KEY_LIFETIME_MS,
    },
  };
  return start("issuer relay", roundMs, tokens, cleanup, true);
}

/**
 * A relay that takes `issuer`'s tokens and, under "always", wants one with every deposit; under
 * "off" the same relay ignores tokens.
 *
 * @example const paid = await startDepositRelay("always", issuer.url, 1000, cleanup);
 */
export function startDepositRelay(
  requirement: "always" | "off",
  issuer: string,
  roundMs: number,
  cleanup: Cleanup,
): Promise<RunningRelay> {
  const tokens: TokenConfig = { requirement, freePerMinute: 0, accept: [issuer] };
  return start(`deposit relay (${requirement})`, roundMs, tokens, cleanup, false);
}
