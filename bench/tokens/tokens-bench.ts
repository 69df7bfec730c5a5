/**
 * The Privacy Pass part of `npm run bench`: what tokens cost an issuer, a client and a relay
 * that requires them, measured with real tokens (the issuer relay's blind signatures, finished
 * and checked by the client) on relays started in this process with startNodeRelay. First
 * issuance: tokens/s through POST /v1/tokens in batches of 1 and of 100, beside the issuer's
 * TokenIssuer.issue called directly on the same requests, and the client's blinding and
 * finalizing per token; then TokenGate.redeem per token on the memory and SQLite spent sets;
 * last, sealed deposits/s over HTTP to a relay that requires a token beside the same relay that
 * does not, spending the tokens issued earlier. The relays are closed afterwards, also on
 * failure or Ctrl-C.
 */
import { TokenWallet } from "../../src/client/token-wallet.js";
import type { BenchOptions } from "../common/bench-options.js";
import { Cleanup } from "../common/cleanup.js";
import type { Figure } from "../common/figure.js";
import { formatNumber } from "../common/text-table.js";
import type { RunningRelay } from "../../src/node.js";
import {
  blindBatches,
  finishBatches,
  publishedIssuerKey,
  type PublishedIssuerKey,
} from "./token-client.js";
import { measureDeposits, type DepositLoad, type DepositRun } from "./token-deposits.js";
import { measureIssuance } from "./token-issuance.js";
import { measureRedeem } from "./token-redeem.js";
import { BENCH_ATTESTATION, startDepositRelay, startIssuerRelay } from "./token-relays.js";
import { signDirectly } from "./token-signing.js";
import {
  printDeposits,
  printIssuance,
  printRedeem,
  printTokensHeader,
  type ClientCost,
  type IssuanceRow,
} from "./tokens-report.js";

/** Tokens per batch of the batched run (the issuer's default most per request). */
const BATCH_SIZE = 100;
/** Issuance requests in flight: enough to keep the issuer busy between answers. */
const ISSUE_IN_FLIGHT = 4;
/** Batches of one: sent first (not counted), then measured. */
const SINGLE_WARMUP = 100;
const SINGLE_COUNT = 1000;
/** Batches of BATCH_SIZE: sent first (not counted), then measured. */
const BATCH_WARMUP = 2;
const BATCH_COUNT = 70;
/** Tokens redeemed on each spent set (the first 20 not counted). */
const REDEEM_TOKENS = 300;
/** Deposits to each relay: sent first (not counted), then measured in slices taken in turn. */
const DEPOSIT_WARMUP = 500;
const DEPOSIT_COUNT = 6000;
const DEPOSIT_SLICES = 6;
const MESSAGE_BYTES = 100;

function perSecondFigure(name: string, value: number, unit: string, floor: number): Figure {
  return {
    name,
    value: Math.round(value),
    unit,
    floor: Math.round(floor),
    ratio: Number((value / floor).toFixed(3)),
  };
}

/**
 * Batches of one, then of BATCH_SIZE: each blinded, sent over HTTP, signed again directly and
 * finished. Returns the figures and every token issued in the HTTP runs.
 */
async function issuance(
  issuer: RunningRelay,
  key: PublishedIssuerKey,
): Promise<{ figures: Figure[]; tokens: Uint8Array[] }> {
  const issuing = issuer.relay.tokenIssuer;
  if (!issuing) throw new Error("the issuer relay has no token issuer");
  const rows: IssuanceRow[] = [];
  const tokens: Uint8Array[] = [];
  let blindMs = 0;
  let finalizeMs = 0;
  const shapes = [
    { size: 1, warmup: SINGLE_WARMUP, count: SINGLE_COUNT },
    { size: BATCH_SIZE, warmup: BATCH_WARMUP, count: BATCH_COUNT },
  ];
  for (const shape of shapes) {
    const blinded = await blindBatches(key, shape.size, shape.warmup + shape.count);
    const http = await measureIssuance(issuer.url, blinded.bodies, shape.size, {
      warmupBatches: shape.warmup,
      inFlight: ISSUE_IN_FLIGHT,
      attestation: { ...BENCH_ATTESTATION },
    });
    const direct = await signDirectly(
      issuing,
      blinded.bodies.slice(shape.warmup),
      http.answers.slice(shape.warmup),
      shape.size,
    );
    const finished = await finishBatches(key, blinded, http.answers);
    tokens.push(...finished.tokens);
    blindMs += blinded.blindMs;
    finalizeMs += finished.finalizeMs;
    rows.push({ http, direct });
  }
  const client: ClientCost = {
    tokens: tokens.length,
    blindUs: (1000 * blindMs) / tokens.length,
    finalizeUs: (1000 * finalizeMs) / tokens.length,
  };
  printIssuance(rows, client);
  // The floor of each issuance rate: tokens per CPU-second of TokenIssuer.issue alone on the
  // same requests, i.e. what one core does when it only signs.
  const [single, batch] = rows as [IssuanceRow, IssuanceRow];
  const figures: Figure[] = [
    perSecondFigure(
      "tokens.issue.single",
      single.http.tokensPerSecond,
      "tokens/s",
      1e6 / single.direct.cpuPerTokenUs,
    ),
    perSecondFigure(
      "tokens.issue.batch",
      batch.http.tokensPerSecond,
      "tokens/s",
      1e6 / batch.direct.cpuPerTokenUs,
    ),
    {
      name: "tokens.issue.cpu.us",
      value: Math.round((1e6 * batch.http.cpuSeconds) / batch.http.tokens),
      unit: "us",
    },
    { name: "tokens.sign.us", value: Math.round(batch.direct.cpuPerTokenUs), unit: "us" },
    {
      name: "tokens.client.us",
      value: Math.round(client.blindUs + client.finalizeUs),
      unit: "us",
    },
  ];
  return { figures, tokens };
}

/**
 * Deposits to a relay without tokens and to the same relay wanting one per deposit, paid from
 * a wallet holding `tokens`.
 */
async function deposits(
  issuer: RunningRelay,
  key: PublishedIssuerKey,
  tokens: readonly Uint8Array[],
  load: DepositLoad,
  roundMs: number,
  cleanup: Cleanup,
): Promise<Figure[]> {
  const free = await startDepositRelay("off", issuer.url, roundMs, cleanup);
  const paid = await startDepositRelay("always", issuer.url, roundMs, cleanup);
  // It never refills (lowWater 0, tokens enough): the run spends only tokens issued above.
  const wallet = new TokenWallet(issuer.url, {
    attestation: { ...BENCH_ATTESTATION },
    lowWater: 0,
  });
  wallet.restore(tokens.map((token) => ({ token, expiresAt: key.expiresAt })));
  const [without, withTokens] = (await measureDeposits(
    [{ relay: free }, { relay: paid, wallet }],
    load,
  )) as [DepositRun, DepositRun];
  await free.close();
  await paid.close();
  printDeposits(
    [
      { label: 'requirement "off", no token', deposit: without },
      { label: 'requirement "always", a token each', deposit: withTokens },
    ],
    load.slices,
  );
  const sealed = load.warmup + load.count;
  console.log(
    `Sealing before the window: ${formatNumber(sealed / without.sealSeconds)} deposits/s` +
      ` without a token, ${formatNumber(sealed / withTokens.sealSeconds)} with one (taken from` +
      " the wallet; no issuance then).",
  );
  const ratio = withTokens.perSecond / without.perSecond;
  console.log(
    `http.deposit.tokens: ${formatNumber(withTokens.perSecond)} deposits/s with a token ` +
      `each, ${formatNumber(ratio, 2)} of the ${formatNumber(without.perSecond)}/s without ` +
      "(http.deposit.notokens).",
  );
  return [
    { name: "http.deposit.notokens", value: Math.round(without.perSecond), unit: "deposits/s" },
    perSecondFigure("http.deposit.tokens", withTokens.perSecond, "deposits/s", without.perSecond),
  ];
}

/**
 * Returns the named figures tokens.issue.single, tokens.issue.batch, tokens.issue.cpu.us,
 * tokens.sign.us, tokens.client.us, tokens.verify.us, tokens.verify.sqlite.us,
 * http.deposit.notokens and http.deposit.tokens.
 *
 * @example const figures = await runTokensBench(parseBenchOptions());
 */
export async function runTokensBench(options: BenchOptions): Promise<Figure[]> {
  const started = performance.now();
  const figures: Figure[] = [];
  const cleanup = new Cleanup();
  const load: DepositLoad = {
    warmup: DEPOSIT_WARMUP,
    count: DEPOSIT_COUNT,
    slices: DEPOSIT_SLICES,
    inFlight: options.concurrency,
    inboxes: options.inboxes,
    messageBytes: MESSAGE_BYTES,
  };
  try {
    printTokensHeader({
      roundMs: options.roundMs,
      issueInFlight: ISSUE_IN_FLIGHT,
      depositInFlight: load.inFlight,
      inboxes: load.inboxes,
      messageBytes: MESSAGE_BYTES,
    });
    const issuer = await startIssuerRelay(options.roundMs, BATCH_SIZE, cleanup);
    const key = await publishedIssuerKey(issuer.url);
    const issued = await issuance(issuer, key);
    figures.push(...issued.figures);
    const { tokens } = issued;
    const needed = 2 * REDEEM_TOKENS + load.warmup + load.count;
    if (tokens.length < needed) throw new Error(`${tokens.length} tokens, ${needed} needed`);

    // Each token is used once: by one of the gates here, or by one deposit.
    const redeem = await measureRedeem(
      issuer.relay,
      key,
      tokens.slice(0, REDEEM_TOKENS),
      tokens.slice(REDEEM_TOKENS, 2 * REDEEM_TOKENS),
      cleanup,
    );
    printRedeem(redeem);
    figures.push(
      { name: "tokens.verify.us", value: Math.round(redeem.memory.meanUs), unit: "us" },
      { name: "tokens.verify.sqlite.us", value: Math.round(redeem.sqlite.meanUs), unit: "us" },
    );
    const paying = tokens.slice(2 * REDEEM_TOKENS, needed);
    figures.push(...(await deposits(issuer, key, paying, load, options.roundMs, cleanup)));
  } finally {
    await cleanup.close();
  }
  console.log("");
  console.log(
    `Tokens part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(relays closed).",
  );
  return figures;
}
