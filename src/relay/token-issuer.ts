/**
 * Issuance (RFC 9578 §6 with Shroud's batch): signs the blinded messages of clients the
 * operator's attester vouches for, up to a number of tokens per client per period. Blind
 * signing means the tokens cannot be linked back to this request when they are spent; the
 * count per client lives in memory only, keyed by what the attester named (never stored).
 */
import { encode, decode } from "../protocol/codec.js";
import { DecodeError } from "../protocol/errors.js";
import { batchTokenRequestCodec, batchTokenResponseCodec } from "../protocol/private-token.js";
import { tokenKeyId } from "../protocol/token-key.js";
import type { BlindSigner } from "./blind-signer.js";
import { CapacityError, RateLimitError } from "./errors.js";
import type { Clock } from "./ports/clock.js";
import type { TokenConfig } from "./relay-config.js";
import { issuingKey, type StoredTokenKey } from "./token-keys.js";

/** Clients counted at once in one period; more are refused (503) until the period turns. */
export const MAX_ATTESTED_CLIENTS = 1_000_000;

/**
 * Signatures made between two yields to the event loop. A signature is ~0.3 ms of synchronous
 * RSA on Node: a batch of 100 in one go held every other request for ~30 ms (up to 180 ms
 * measured on a busy machine); 8 at a time keeps a pause near 3 ms.
 */
const SIGNATURES_PER_TURN = 8;

/** Signs batches of blinded token requests for attested clients, within their allowance. */
export class TokenIssuer {
  #period = -1;
  #used = new Map<string, number>();
  /** token_key_id of each issuer key, hashed once. */
  readonly #keyIds = new WeakMap<StoredTokenKey, Uint8Array>();

  constructor(
    private readonly settings: NonNullable<TokenConfig["issue"]>,
    private readonly signer: BlindSigner,
    private readonly clock: Clock,
    private readonly keys: () => readonly StoredTokenKey[],
  ) {}

  /**
   * Answers one batch token request for the client the attester named `client`: a batch
   * response, one blind signature per request, in order. DecodeError for a malformed batch or
   * one for another key (HTTP 400), RateLimitError past the client's allowance (429),
   * CapacityError when no key issues right now (503).
   *
   * @example const answer = await issuer.issue(body, "invite:3");
   */
  async issue(body: Uint8Array, client: string): Promise<Uint8Array> {
    const requests = decode(batchTokenRequestCodec, body);
    if (requests.length === 0 || requests.length > this.settings.maxBatch) {
      throw new DecodeError("token batch size out of range");
    }
    const now = this.clock.now();
    const key = issuingKey(this.keys(), now);
    if (!key) throw new CapacityError();
    let id = this.#keyIds.get(key);
    if (!id) this.#keyIds.set(key, (id = await tokenKeyId(key.publicKey)));
    if (requests.some((r) => r.truncatedTokenKeyId !== id[id.length - 1])) {
      throw new DecodeError("token request for another issuer key");
    }
    this.#take(client, requests.length, now);
    const signatures: Uint8Array[] = [];
    for (const [i, r] of requests.entries()) {
      if (i > 0 && i % SIGNATURES_PER_TURN === 0) await new Promise((go) => setTimeout(go, 0));
      signatures.push(await this.signer.sign(key.privateKey, r.blindedMsg));
    }
    return encode(batchTokenResponseCodec, signatures);
  }

  /** Counts `n` tokens against the client's allowance for the current period, or refuses all. */
  #take(client: string, n: number, now: number): void {
    const period = Math.floor(now / this.settings.periodMs);
    if (period !== this.#period) {
      this.#period = period;
      this.#used = new Map();
    }
    const used = this.#used.get(client) ?? 0;
    if (used === 0 && this.#used.size >= MAX_ATTESTED_CLIENTS) throw new CapacityError();
    if (used + n > this.settings.perPeriod) throw new RateLimitError();
    this.#used.set(client, used + n);
  }
}
