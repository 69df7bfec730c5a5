/**
 * Redemption: whether a deposit or forward may go on under the relay's token requirement, and
 * spending the token it carries. A token is good when its key is one this relay's descriptor
 * trusts (its own issuer keys, or those an accepted peer's signed descriptor publishes), not
 * expired, its challenge is that issuer's, its signature verifies, and it was not spent here
 * before. Spent tokens are kept in the replay set as SHA-256 of the token input, one set per
 * UTC day of key expiry, forgotten once that day has passed (a key's tokens are refused by then).
 */
import { concat, constantTimeEqual, sha256, toHex, utf8 } from "../protocol/bytes.js";
import { encode } from "../protocol/codec.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { Labels } from "../protocol/labels.js";
import {
  decodeToken,
  shroudTokenChallenge,
  tokenChallengeCodec,
  tokenInput,
  verifyTokenSignature,
  type Token,
} from "../protocol/private-token.js";
import type { DepositRequest, ForwardRequest } from "../protocol/relay-request.js";
import { RelayStatus } from "../protocol/relay-status.js";
import { decodeTokenKey } from "../protocol/token-key.js";
import { dayOf, MS_PER_DAY, type Clock } from "./ports/clock.js";
import type { ReplaySet } from "./ports/replay-set.js";
import { REFRESH_INTERVAL_MS, type PeerDirectory } from "./peer-directory.js";
import type { TokenConfig } from "./relay-config.js";
import { issuerKeyOf, tokenKeyTag, type IssuerKey, type StoredTokenKey } from "./token-keys.js";

/** Days of spent sets looked back over at the first sweep after a start. */
const SWEEP_LOOKBACK_DAYS = 60;

export type TokenRefusal = typeof RelayStatus.token_required | typeof RelayStatus.token_refused;

/**
 * Names the envelope that carries a token, for requests that may be handled twice: a deposit in
 * a federation batch that is retried after a failure part way. Once the envelope has spent its
 * token, the same envelope is let through again instead of meeting its own token as spent.
 */
export interface TokenCarrier {
  /** Replay-set tag the mark is kept under (the HPKE key's, so it goes when the key does). */
  tag: string;
  /** A record no other envelope has: a hash of the envelope's encapsulated key. */
  record: Uint8Array;
}

/** The replay-set tag of the tokens spent under keys that expire on `day`. */
export function spentTag(day: number): string {
  return `token:${day}`;
}

interface KnownKey extends IssuerKey {
  /** The issuer (normalised origin) that published the key. */
  issuer: string;
  challengeDigest: Uint8Array;
}

/** The carrier mark of a forwarded envelope opened under the HPKE key tagged `keyTag`. */
export async function tokenCarrier(keyTag: string, enc: Uint8Array): Promise<TokenCarrier> {
  const record = await sha256(concat(utf8(Labels.tokenCarrier), Uint8Array.of(0), enc));
  return { tag: keyTag, record };
}

export class TokenGate {
  #minute = -1;
  #freeUsed = 0;
  #sweptDay: number | undefined;
  /** Issuer keys by token_key_id (hex), with their issuer's challenge digest. */
  #keys = new Map<string, KnownKey>();
  /**
   * Per issuer, the key set last asked for (its key tags for this relay's own, the descriptor
   * bytes for a peer's) and its indexing, which every redemption that needs it waits for.
   */
  #loads = new Map<string, { marker: string | Uint8Array; done: Promise<void> }>();
  /** When a peer's descriptor last could not be had: not asked again for a while. */
  #peerFailed = new Map<string, number>();

  constructor(
    private readonly config: TokenConfig,
    private readonly origin: string,
    private readonly replay: ReplaySet,
    private readonly clock: Clock,
    private readonly directory: PeerDirectory,
    private readonly ownKeys: () => readonly StoredTokenKey[],
  ) {}

  /** Whether this relay looks at tokens at all. */
  get active(): boolean {
    return this.config.requirement !== "off";
  }

  /**
   * undefined: the request may go on (its token, if the relay wants one, is now spent);
   * otherwise the status to answer with, having changed nothing.
   */
  async admit(
    request: DepositRequest | ForwardRequest,
    carrier?: TokenCarrier,
  ): Promise<TokenRefusal | undefined> {
    if (!this.active) return undefined;
    if (!request.token) return this.#free() ? undefined : RelayStatus.token_required;
    if (carrier && (await this.replay.has(carrier.tag, carrier.record))) return undefined;
    if (!(await this.redeem(request.token))) return RelayStatus.token_refused;
    // Marked after the spend: a crash between the two loses this one deposit's retry, the
    // other order would let a retried envelope through on a token someone else spent.
    if (carrier) await this.replay.add(carrier.tag, carrier.record);
    return undefined;
  }

  #free(): boolean {
    if (this.config.requirement !== "allowance") return false;
    const minute = Math.floor(this.clock.now() / 60_000);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#freeUsed = 0;
    }
    if (this.#freeUsed >= this.config.freePerMinute) return false;
    this.#freeUsed++;
    return true;
  }

  /** Verifies and spends one token; false if it is not good here (and nothing was spent). */
  async redeem(bytes: Uint8Array): Promise<boolean> {
    let token: Token;
    try {
      token = decodeToken(bytes);
    } catch {
      return false;
    }
    const key = await this.#key(token.tokenKeyId);
    const now = this.clock.now();
    if (!key || key.expiresAt <= now) return false;
    if (!constantTimeEqual(token.challengeDigest, key.challengeDigest)) return false;
    if (!(await verifyTokenSignature(key.publicKey, token))) return false;
    return this.replay.add(spentTag(dayOf(key.expiresAt)), await sha256(tokenInput(token)));
  }

  async #key(id: Uint8Array): Promise<KnownKey | undefined> {
    await this.#loadOwn();
    const hex = toHex(id);
    let key = this.#keys.get(hex);
    if (key && key.issuer !== this.origin) {
      // The peer's current descriptor (cached by the directory for up to 10 minutes) decides:
      // a key it has withdrawn since is forgotten here.
      await this.#loadPeer(key.issuer, false);
      key = this.#keys.get(hex);
    }
    if (key) return key;
    // A peer may have added a key since its descriptor was cached: look again, at most as
    // often as the directory lets a descriptor be refreshed.
    for (const refresh of [false, true]) {
      for (const issuer of this.config.accept) {
        if (issuer === this.origin) continue;
        await this.#loadPeer(issuer, refresh);
        key = this.#keys.get(hex);
        if (key) return key;
      }
    }
    return undefined;
  }

  /**
   * Makes `keys` the issuer's keys, once `marker` names a key set not indexed or being indexed
   * yet: those the issuer no longer publishes are forgotten (an issuer withdraws a key that
   * leaked by leaving it out of its descriptor). Redemptions meanwhile wait for it and see the
   * old set or the new one, never a half-made one.
   */
  #index(
    issuer: string,
    marker: string | Uint8Array,
    keys: ReadonlyArray<{ publicKey: Uint8Array; expiresAt: number }>,
  ): Promise<void> {
    const current = this.#loads.get(issuer);
    if (current?.marker === marker) return current.done;
    const load = { marker, done: Promise.resolve() };
    load.done = (async () => {
      const challenge = shroudTokenChallenge(issuer);
      const challengeDigest = await sha256(encode(tokenChallengeCodec, challenge));
      const indexed: Array<[string, KnownKey]> = [];
      for (const k of keys) {
        try {
          const known = await issuerKeyOf(k.publicKey, decodeTokenKey(k.publicKey), k.expiresAt);
          indexed.push([toHex(known.id), { ...known, issuer, challengeDigest }]);
        } catch {
          // A peer's key this code cannot read is one whose tokens it refuses.
        }
      }
      // A newer set asked for while this one was made wins.
      if (this.#loads.get(issuer) !== load) return;
      for (const [hex, key] of this.#keys) if (key.issuer === issuer) this.#keys.delete(hex);
      for (const [hex, key] of indexed) this.#keys.set(hex, key);
    })();
    this.#loads.set(issuer, load);
    return load.done;
  }

  async #loadOwn(): Promise<void> {
    const own = this.ownKeys();
    await this.#index(this.origin, own.map(tokenKeyTag).join(","), own);
  }

  /** A peer's keys from its signed descriptor (the directory caches and refreshes it). */
  async #loadPeer(issuer: string, refresh: boolean): Promise<void> {
    const failed = this.#peerFailed.get(issuer);
    if (failed !== undefined && this.clock.now() - failed < REFRESH_INTERVAL_MS) return;
    let bytes: Uint8Array;
    let policy;
    try {
      const peer = await (refresh ? this.directory.refresh(issuer) : this.directory.get(issuer));
      bytes = peer.bytes;
      policy = peer.descriptor.tokens;
      this.#peerFailed.delete(issuer);
    } catch {
      // An issuer that is down is not asked again at every token that names an unknown key.
      this.#peerFailed.set(issuer, this.clock.now());
      return;
    }
    const keys = (policy?.issuerKeys ?? []).map((k) => ({
      publicKey: k.publicKey,
      expiresAt: k.notAfter * 1000,
    }));
    await this.#index(normalizeOrigin(issuer), bytes, keys);
  }

  /**
   * Forgets the spent sets of keys that expired on days now past (run from maintenance). A
   * relay that takes no tokens has none to forget, and asks its store nothing.
   */
  async sweep(): Promise<void> {
    if (!this.active && this.ownKeys().length === 0) return;
    const today = dayOf(this.clock.now());
    // Day by day, so a sweep cut short goes on where it stopped.
    for (let day = this.#sweptDay ?? today - SWEEP_LOOKBACK_DAYS; day < today; day++) {
      await this.replay.forget(spentTag(day));
      this.#sweptDay = day + 1;
    }
    this.#sweptDay = today;
    for (const [hex, key] of this.#keys) {
      if (key.expiresAt <= this.clock.now() - MS_PER_DAY) this.#keys.delete(hex);
    }
  }
}
