/**
 * What a deposit's token costs the relay that redeems it: TokenGate.redeem (decode, find the
 * issuer key, check the challenge, RSA-PSS verify on WebCrypto, add SHA-256 of the token input
 * to the spent set), one token at a time, on a gate that trusts the issuer relay's keys, with the
 * spent set on the embedded memory replay set and on the SQLite one (a file in a temporary
 * directory). The signature check alone is timed on the same tokens beside it. Each token must
 * redeem once, and the checks at the end must be refused: a spent token and a forged one.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryReplaySet } from "../../src/adapters/memory/memory-replay-set.js";
import { sqlitePorts } from "../../src/adapters/sqlite/sqlite-ports.js";
import { decodeToken, verifyTokenSignature } from "../../src/protocol/private-token.js";
import { systemClock } from "../../src/relay/ports/clock.js";
import type { ReplaySet } from "../../src/relay/ports/replay-set.js";
import { PeerDirectory } from "../../src/relay/peer-directory.js";
import type { Relay } from "../../src/relay/relay.js";
import { TokenGate } from "../../src/relay/token-gate.js";
import { ascending, percentile } from "../common/percentile.js";
import type { Cleanup } from "../common/cleanup.js";
import type { PublishedIssuerKey } from "./token-client.js";

/** Tokens redeemed first on each gate and not counted (key import, JIT). */
const WARMUP_TOKENS = 20;

export interface RedeemTiming {
  /** Which spent set: "memory" or "sqlite". */
  replay: string;
  tokens: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

export interface RedeemCosts {
  memory: RedeemTiming;
  sqlite: RedeemTiming;
  /** verifyTokenSignature alone on the memory row's tokens: mean microseconds. */
  verifyOnlyUs: number;
}

/** A gate as the issuer relay's own would be: its origin, its keys, "always". */
function gateFor(issuer: Relay, replay: ReplaySet): TokenGate {
  const { config } = issuer;
  return new TokenGate(
    { requirement: "always", freePerMinute: 0, accept: [] },
    config.origin,
    replay,
    systemClock,
    new PeerDirectory(config.federation, systemClock, fetch),
    () => issuer.keyRing.stored.tokens ?? [],
  );
}

/** A copy of `token` with one bit of its authenticator flipped. */
function forged(token: Uint8Array): Uint8Array {
  const copy = new Uint8Array(token);
  copy[copy.length - 1]! ^= 1;
  return copy;
}

async function timeRedeems(
  replay: string,
  gate: TokenGate,
  tokens: readonly Uint8Array[],
): Promise<RedeemTiming> {
  const measured = tokens.slice(WARMUP_TOKENS);
  for (const token of tokens.slice(0, WARMUP_TOKENS)) {
    if (!(await gate.redeem(token))) throw new Error(`${replay}: a fresh token was refused`);
  }
  const us: number[] = [];
  for (const token of measured) {
    const started = performance.now();
    const good = await gate.redeem(token);
    us.push(1000 * (performance.now() - started));
    if (!good) throw new Error(`${replay}: a fresh token was refused`);
  }
  if (await gate.redeem(measured[0]!)) throw new Error(`${replay}: a spent token was taken again`);
  if (await gate.redeem(forged(tokens[tokens.length - 1]!))) {
    throw new Error(`${replay}: a forged token was taken`);
  }
  const sorted = ascending(us);
  return {
    replay,
    tokens: measured.length,
    meanUs: us.reduce((a, b) => a + b, 0) / us.length,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
  };
}

/**
 * Redeems `memoryTokens` on the memory replay set and `sqliteTokens` on the SQLite one.
 *
 * @example const costs = await measureRedeem(issuer.relay, key, a, b, cleanup);
 */
export async function measureRedeem(
  issuer: Relay,
  key: PublishedIssuerKey,
  memoryTokens: readonly Uint8Array[],
  sqliteTokens: readonly Uint8Array[],
  cleanup: Cleanup,
): Promise<RedeemCosts> {
  const measured = memoryTokens.slice(WARMUP_TOKENS).map(decodeToken);
  const started = performance.now();
  for (const token of measured) {
    if (!(await verifyTokenSignature(key.publicKey, token))) throw new Error("a token is invalid");
  }
  const verifyOnlyUs = (1000 * (performance.now() - started)) / measured.length;

  const memory = await timeRedeems("memory", gateFor(issuer, new MemoryReplaySet()), memoryTokens);
  const dir = await mkdtemp(join(tmpdir(), "shroud-bench-tokens-"));
  const removeDir = cleanup.add({
    name: `directory ${dir}`,
    stop: () => rm(dir, { recursive: true, force: true }),
    now: () => rmSync(dir, { recursive: true, force: true }),
  });
  const ports = sqlitePorts({ dataDir: dir });
  try {
    const sqlite = await timeRedeems("sqlite", gateFor(issuer, ports.replay), sqliteTokens);
    return { memory, sqlite, verifyOnlyUs };
  } finally {
    await ports.close();
    await removeDir();
  }
}
