/**
 * A client's Privacy Pass tokens from its own provider: fetched in batches (blinded, so the
 * issuer cannot tell them apart when they are spent), kept until a relay that accepts the
 * issuer wants one, then spent once. RelayClient takes one from here whenever a relay's policy
 * asks (see RelayClientOptions.tokens).
 */
import { decode, encode } from "../protocol/codec.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { CryptoError, DescriptorError, TransportError } from "../protocol/errors.js";
import { MediaTypes } from "../protocol/labels.js";
import {
  batchTokenRequestCodec,
  batchTokenResponseCodec,
  finishToken,
  MAX_TOKEN_BATCH,
  requestTokens,
  shroudTokenChallenge,
  tokenCodec,
} from "../protocol/private-token.js";
import { decodeTokenKey, tokenKeyId } from "../protocol/token-key.js";
import { TokenUnavailableError } from "./errors.js";
import { fetchDescriptorBytes, openDescriptor } from "./relay-descriptor.js";

/** How a TokenWallet reaches its issuer and how many tokens it keeps at hand. */
export interface TokenWalletOptions {
  /**
   * Headers that get this client past the issuer's attester, e.g.
   * `{ authorization: "Bearer <invite secret>" }`; none for an address attester.
   */
  attestation?: Record<string, string>;
  /** Tokens fetched per refill (default 32, at most MAX_TOKEN_BATCH). */
  batchSize?: number;
  /** Below this many, spending one starts a refill in the background (default 8). */
  lowWater?: number;
  /** fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Expected Ed25519 key of the issuer's descriptor. */
  pinnedSigningKey?: Uint8Array;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

/**
 * Sends one refill request at a time the caller chooses: a shaping RelayClient of the issuer
 * passes its read slots, so a refill takes a slot's place instead of adding a request.
 */
export type RefillSchedule = <T>(send: () => Promise<T>) => Promise<T>;

/** A token in the wallet, with when its key stops being honoured (ms). */
interface HeldToken {
  bytes: Uint8Array;
  expiresAt: number;
}

/**
 * @example
 * const wallet = new TokenWallet("https://a.example", { attestation: { authorization: `Bearer ${invite}` } });
 * await wallet.refill();
 * const client = await RelayClient.connect("https://b.example", { tokens: wallet });
 */
export class TokenWallet {
  readonly issuer: string;
  readonly #options: TokenWalletOptions;
  #tokens: HeldToken[] = [];
  #refilling: Promise<number> | undefined;
  #schedule: RefillSchedule | undefined;

  constructor(issuer: string, options: TokenWalletOptions = {}) {
    this.issuer = normalizeOrigin(issuer);
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_TOKEN_BATCH) {
      throw new RangeError(`batchSize must be 1..${MAX_TOKEN_BATCH}`);
    }
    this.#options = { ...options, batchSize };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** The tokens held, once those whose key has expired are dropped. */
  #live(): HeldToken[] {
    this.#tokens = this.#tokens.filter((t) => t.expiresAt > this.#now());
    return this.#tokens;
  }

  /** Tokens held whose key has not expired. */
  get size(): number {
    return this.#live().length;
  }

  /** The tokens held whose key has not expired, as bytes, to keep across runs (see `restore`). */
  export(): Array<{ token: Uint8Array; expiresAt: number }> {
    return this.#live().map((t) => ({ token: t.bytes, expiresAt: t.expiresAt }));
  }

  /** Adds tokens kept by `export` (malformed ones are dropped). */
  restore(tokens: ReadonlyArray<{ token: Uint8Array; expiresAt: number }>): void {
    for (const t of tokens) {
      try {
        decode(tokenCodec, t.token);
        this.#tokens.push({ bytes: t.token, expiresAt: t.expiresAt });
      } catch {
        // Not a token: nothing a relay would take.
      }
    }
  }

  /**
   * Fetches `count` tokens from the issuer in one request (default: the batch size); resolves
   * to the number now held. A refill already under way is joined, not repeated.
   */
  refill(count = this.#options.batchSize!): Promise<number> {
    this.#refilling ??= this.#refill(count).finally(() => (this.#refilling = undefined));
    return this.#refilling;
  }

  /**
   * Sends refills through `schedule` from now on (RelayClient does this for a wallet whose
   * issuer it reaches directly on a shaping schedule); the returned function undoes it, if no
   * other schedule has replaced it since.
   */
  scheduleRefills(schedule: RefillSchedule): () => void {
    this.#schedule = schedule;
    return () => {
      if (this.#schedule === schedule) this.#schedule = undefined;
    };
  }

  /** Resolves once no refill is under way (whether it got tokens or not). */
  async settled(): Promise<void> {
    await this.#refilling?.catch(() => undefined);
  }

  async #refill(count: number): Promise<number> {
    const bytes = await fetchDescriptorBytes(this.issuer, this.#options);
    const descriptor = await openDescriptor(bytes, this.issuer, this.#options);
    const nowSeconds = Math.floor(this.#now() / 1000);
    // The issuer signs with its newest key: the one that expires last.
    const published = (descriptor.tokens?.issuerKeys ?? [])
      .filter((k) => k.notAfter > nowSeconds)
      .sort((a, b) => b.notAfter - a.notAfter)[0];
    if (!published) throw new DescriptorError("the relay does not issue tokens");
    const key = decodeTokenKey(published.publicKey);
    const id = await tokenKeyId(published.publicKey);
    const challenge = shroudTokenChallenge(this.issuer);
    const pending = await requestTokens(key, id, challenge, count);
    const body = encode(
      batchTokenRequestCodec,
      pending.map((p) => p.request),
    );
    const doFetch = this.#options.fetch ?? fetch;
    const post = () =>
      doFetch(new URL("/v1/tokens", this.issuer), {
        method: "POST",
        headers: { ...this.#options.attestation, "content-type": MediaTypes.tokenRequest },
        body: body as Uint8Array<ArrayBuffer>,
      });
    let response: Response;
    try {
      response = await (this.#schedule ? this.#schedule(post) : post());
    } catch (cause) {
      throw new TransportError(`cannot reach token issuer at ${this.issuer}`, { cause });
    }
    if (response.status !== 200) {
      throw new TokenUnavailableError(`token issuer answered HTTP ${response.status}`);
    }
    const signatures = decode(
      batchTokenResponseCodec,
      new Uint8Array(await response.arrayBuffer()),
    );
    if (signatures.length !== pending.length) throw new CryptoError("token issuer answered short");
    const expiresAt = published.notAfter * 1000;
    for (const [i, p] of pending.entries()) {
      const token = await finishToken(key, p, signatures[i]!);
      this.#tokens.push({ bytes: encode(tokenCodec, token), expiresAt });
    }
    return this.size;
  }

  /**
   * One token for a relay that accepts `acceptedIssuers`, removed from the wallet (a token is
   * spent once), refilling first when the wallet is empty; undefined when the relay does not
   * accept this wallet's issuer.
   */
  async take(acceptedIssuers: readonly string[]): Promise<Uint8Array | undefined> {
    if (!acceptedIssuers.some((o) => o === this.issuer)) return undefined;
    if (this.size === 0) await this.refill();
    const token = this.#tokens.shift();
    if (!token) throw new TokenUnavailableError("the token issuer gave no tokens");
    if (this.#tokens.length < (this.#options.lowWater ?? 8)) {
      // Refilled before the wallet runs dry; a failure here shows at the next take.
      this.refill().catch(() => undefined);
    }
    return token.bytes;
  }
}
