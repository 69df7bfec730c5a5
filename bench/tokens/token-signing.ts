/**
 * The issuer's own cost per token, without HTTP: the relay's TokenIssuer.issue (decode the
 * batch, pick the key, count the allowance, blind-sign each request on node:crypto) called
 * directly, one batch after another, on the same blinded bodies the HTTP run sent. Signing is
 * deterministic (RSA m^d mod n), so every answer must equal the one the relay gave over HTTP:
 * a check that the HTTP figures counted real signatures of these requests.
 */
import { cpuUsage } from "node:process";
import { constantTimeEqual } from "../../src/protocol/bytes.js";
import type { TokenIssuer } from "../../src/relay/token-issuer.js";

/** Who the direct calls are counted against in the issuer's allowance. */
const DIRECT_CLIENT = "bench:direct";

export interface DirectSigning {
  tokens: number;
  /** Wall time of all the issue() calls (one at a time, in this otherwise idle process), ms. */
  ms: number;
  /** Wall microseconds per token. */
  perTokenUs: number;
  /**
   * This process's CPU microseconds per token over the calls: the signing's cost on one core,
   * whatever else the machine's cores were doing meanwhile.
   */
  cpuPerTokenUs: number;
}

/**
 * @example const signing = await signDirectly(relay.tokenIssuer, bodies, answers, 100);
 */
export async function signDirectly(
  issuer: TokenIssuer,
  bodies: readonly Uint8Array[],
  httpAnswers: readonly Uint8Array[],
  batchSize: number,
): Promise<DirectSigning> {
  const answers: Uint8Array[] = [];
  const cpu = cpuUsage();
  const started = performance.now();
  for (const body of bodies) answers.push(await issuer.issue(body, DIRECT_CLIENT));
  const ms = performance.now() - started;
  const used = cpuUsage(cpu);
  for (const [i, answer] of answers.entries()) {
    const http = httpAnswers[i];
    if (!http || !constantTimeEqual(answer, http)) {
      throw new Error(`batch ${i}: TokenIssuer.issue and POST /v1/tokens answered differently`);
    }
  }
  const tokens = bodies.length * batchSize;
  return {
    tokens,
    ms,
    perTokenUs: (1000 * ms) / tokens,
    cpuPerTokenUs: (used.user + used.system) / tokens,
  };
}
