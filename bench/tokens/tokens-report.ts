/**
 * The Privacy Pass part's tables: issuance over HTTP beside the issuer's signing alone, the
 * client's cost per token, redemption per spent set, and deposits with tokens beside without.
 * Printing only; tokens-bench.ts measures and names the figures.
 */
import { formatNumber, textTable } from "../common/text-table.js";
import type { DepositRun } from "./token-deposits.js";
import type { IssuanceRun } from "./token-issuance.js";
import type { RedeemCosts } from "./token-redeem.js";
import type { DirectSigning } from "./token-signing.js";

export interface TokensSetup {
  roundMs: number;
  issueInFlight: number;
  depositInFlight: number;
  inboxes: number;
  messageBytes: number;
}

/** One batch size: the HTTP run and the direct signing of the same bodies. */
export interface IssuanceRow {
  http: IssuanceRun;
  direct: DirectSigning;
}

/** Client-side time per token, microseconds. */
export interface ClientCost {
  tokens: number;
  blindUs: number;
  finalizeUs: number;
}

export function printTokensHeader(setup: TokensSetup): void {
  console.log("Privacy Pass tokens (RFC 9578 type 2: blind RSA-2048, RFC 9474)");
  console.log(
    "  relays   startNodeRelay in this process on the memory store (loopback HTTP, rate limit" +
      ` off, roundIntervalMs ${setup.roundMs}): one issuer (invite attester), deposit relays` +
      " that take its tokens",
  );
  console.log(
    `  issuance pre-blinded batches POSTed to /v1/tokens, ${setup.issueInFlight} in flight;` +
      " finished (unblinded and checked) after the window",
  );
  console.log(
    `  deposits ${setup.messageBytes} B messages over ${setup.inboxes} inboxes, pre-sealed by` +
      ` RelayClient, ${setup.depositInFlight} in flight, the same count for both relays`,
  );
  console.log("");
}

export function printIssuance(rows: readonly IssuanceRow[], client: ClientCost): void {
  const cells = rows.flatMap(({ http, direct }) => [
    [
      "POST /v1/tokens (relay in this process)",
      String(http.batchSize),
      String(http.inFlight),
      formatNumber(http.tokens),
      formatNumber(http.run.elapsedMs / 1000, 2),
      formatNumber(http.tokensPerSecond),
      formatNumber((1e6 * http.cpuSeconds) / http.tokens),
      formatNumber(http.run.p50Ms, 2),
      formatNumber(http.run.p99Ms, 2),
    ],
    [
      "TokenIssuer.issue() called directly",
      String(http.batchSize),
      "1",
      formatNumber(direct.tokens),
      formatNumber(direct.ms / 1000, 2),
      formatNumber(1e6 / direct.perTokenUs),
      formatNumber(direct.cpuPerTokenUs),
      "",
      "",
    ],
  ]);
  console.log("Issuance");
  console.log(
    textTable(
      ["path", "batch", "in flight", "tokens", "s", "tokens/s", "CPU us/token", "p50 ms", "p99 ms"],
      cells,
      ["left", "right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log(
    "CPU us/token: this process's CPU in the window over the tokens (over HTTP: the relay and" +
      " the HTTP client's sending, no client crypto). p50/p99: per request.",
  );
  console.log(
    "Event loop delay while issuing over HTTP: " +
      rows
        .map(
          ({ http }) =>
            `batches of ${http.batchSize}: max ${formatNumber(http.loopDelayMaxMs, 1)} ms,` +
            ` p99 ${formatNumber(http.loopDelayP99Ms, 1)} ms`,
        )
        .join("; ") +
      " (the issuer yields to the loop every 8 signatures).",
  );
  console.log(
    `Client per token (${formatNumber(client.tokens)} tokens): blinding (requestTokens, a batch at a time) ` +
      `${formatNumber(client.blindUs)} us, finalizing (finishToken: unblind and verify) ` +
      `${formatNumber(client.finalizeUs)} us; ${formatNumber(client.blindUs + client.finalizeUs)} us in all.`,
  );
  console.log("");
}

export function printRedeem(costs: RedeemCosts): void {
  console.log("Redemption: TokenGate.redeem, one token at a time");
  console.log(
    textTable(
      ["spent set", "tokens", "mean us", "p50 us", "p99 us"],
      [costs.memory, costs.sqlite].map((r) => [
        r.replay,
        formatNumber(r.tokens),
        formatNumber(r.meanUs),
        formatNumber(r.p50Us),
        formatNumber(r.p99Us),
      ]),
      ["left", "right", "right", "right", "right"],
    ),
  );
  console.log(
    `Of which the RSA-PSS verification alone (verifyTokenSignature, WebCrypto): ` +
      `${formatNumber(costs.verifyOnlyUs)} us per token. A spent token and a forged one were refused.`,
  );
  console.log("");
}

export function printDeposits(
  runs: ReadonlyArray<{ label: string; deposit: DepositRun }>,
  slices: number,
): void {
  console.log(
    "Deposits over HTTP: the same relay with tokens.requirement off and always, both running," +
      ` the measured deposits in ${slices} slices taken in turn`,
  );
  console.log(
    textTable(
      [
        "relay",
        "body B",
        "in flight",
        "deposits",
        "s",
        "deposits/s",
        "CPU us/deposit",
        "p50 ms",
        "p99 ms",
      ],
      runs.map(({ label, deposit }) => [
        label,
        formatNumber(deposit.bodyBytes),
        String(deposit.inFlight),
        formatNumber(deposit.ops),
        formatNumber(deposit.elapsedMs / 1000, 2),
        formatNumber(deposit.perSecond),
        formatNumber((1e6 * deposit.cpuSeconds) / deposit.ops),
        formatNumber(deposit.p50Ms, 2),
        formatNumber(deposit.p99Ms, 2),
      ]),
      ["left", "right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log(
    "s: the relay's slices together. CPU us/deposit: this process's CPU in those slices (the" +
      " relays and the HTTP client) over the deposits. Every deposit, warm-up included, was" +
      " counted accepted by its relay.",
  );
  console.log("");
}
