/**
 * A relay: ports, keys, rounds and the sealed request pipeline, without any HTTP or runtime
 * specifics (see app.ts for the Hono routes and src/node.ts for serving on Node).
 */
import { decode, encode } from "../protocol/codec.js";
import { signDescriptor, TokenRequirement, type Descriptor } from "../protocol/descriptor.js";
import { openRequest, requestKeyId, responseOverhead, sealResponse } from "../protocol/envelope.js";
import { DecodeError, ReplayError, UnknownKeyError } from "../protocol/errors.js";
import {
  relayRequestCodec,
  requestKindName,
  RequestKind,
  type RelayRequest,
} from "../protocol/relay-request.js";
import { relayResponseCodec, type RelayResponse } from "../protocol/relay-response.js";
import { RelayStatus, relayStatusName } from "../protocol/relay-status.js";
import {
  generateKeyRing,
  KeyRing,
  keyRingFingerprint,
  keyTag,
  pruneKeyRing,
  rotateKeyRing,
} from "./key-ring.js";
import { dayOf, type Clock } from "./ports/clock.js";
import type { DepositIntake, ReplayRecord } from "./ports/deposit-intake.js";
import type { FederationQueue } from "./ports/federation-queue.js";
import type { InboxStore } from "./ports/inbox-store.js";
import type { KeyStore, StoredKeyRing } from "./ports/key-store.js";
import { consoleLogger, type Logger } from "./ports/logger.js";
import { MetricName, type Metrics } from "./ports/metrics.js";
import type { ReplaySet } from "./ports/replay-set.js";
import type { RoundPool } from "./ports/round-pool.js";
import type { RoundScheduler } from "./ports/round-scheduler.js";
import type { RelayConfig } from "./relay-config.js";
import { Federation } from "./federation.js";
import { PeerDirectory } from "./peer-directory.js";
import { RelayService } from "./relay-service.js";
import { RoundCloser } from "./round-closer.js";
import { depositIntakeFor } from "./stepwise-deposit-intake.js";
import type { BlindSigner } from "./blind-signer.js";
import { TokenGate, tokenCarrier } from "./token-gate.js";
import { TokenIssuer } from "./token-issuer.js";
import { rotateTokenKeys } from "./token-keys.js";

/** The adapters a relay runs on. */
export interface RelayPorts {
  inboxes: InboxStore;
  pool: RoundPool;
  replay: ReplaySet;
  /**
   * A deposit in one storage step (replay record, inbox admission, round pool), where the
   * backend has one; the relay uses it only alongside the very `inboxes`, `pool` and `replay`
   * it was built over, and otherwise composes those (see stepwise-deposit-intake.ts).
   */
  deposits?: DepositIntake;
  keys: KeyStore;
  clock: Clock;
  metrics: Metrics;
  /** Decides when rounds close (a timer in one process; a shared schedule across many). */
  rounds: RoundScheduler;
  /** Outbound traffic to peer relays, held, batched and delivered with retries. */
  federation: FederationQueue;
  /** Where operational events go (default: text on the console); see ports/logger.ts. */
  logger?: Logger;
  /** Outbound HTTP to peers (default: the global fetch). */
  http?: typeof fetch;
  /** Raw RSA signing for Privacy Pass issuance; without one the relay issues no tokens. */
  blindSigner?: BlindSigner;
}

/** An error's class name, all a log line says of it (a message may quote request data). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "error";
}

/** Least time between key reloads triggered by an unknown key id. */
const KEY_RELOAD_BACKOFF_MS = 5000;

/**
 * @example
 * const relay = await Relay.open(relayConfig({ origin }), memoryPorts());
 * await relay.start();
 * const answer = await relay.handleSealed(body); // sealed, bucket-sized
 */
export class Relay {
  #keyRing: KeyRing;
  #descriptor: { bytes: Uint8Array; fingerprint: string; issuedAt: number } | undefined;
  #lastKeyReload = 0;
  #maintenance: ReturnType<typeof setInterval> | undefined;
  readonly #service: RelayService;
  readonly #deposits: DepositIntake;
  readonly #closer: RoundCloser;
  readonly #federation: Federation;
  readonly #tokens: TokenGate;
  /** Issues Privacy Pass tokens; undefined when not configured to, or no signer was given. */
  readonly tokenIssuer: TokenIssuer | undefined;
  /** Closes a round for the scheduler, logging a failure (with no detail) before passing it on. */
  readonly #closeLogged: () => Promise<void>;
  readonly #logger: Logger;
  /** Requests that failed inside the relay since maintenance last reported them. */
  #failedRequests = 0;

  private constructor(
    readonly config: RelayConfig,
    readonly ports: RelayPorts,
    keyRing: KeyRing,
  ) {
    this.#keyRing = keyRing;
    this.#logger = ports.logger ?? consoleLogger;
    this.#closer = new RoundCloser(
      ports.pool,
      ports.inboxes,
      ports.clock,
      ports.metrics,
      config.retentionDays,
    );
    const http = ports.http ?? ((input, init) => fetch(input, init));
    const directory = new PeerDirectory(config.federation, ports.clock, http);
    const tokenKeys = () => this.#keyRing.stored.tokens ?? [];
    this.#tokens = new TokenGate(
      config.tokens,
      config.origin,
      ports.replay,
      ports.clock,
      directory,
      tokenKeys,
    );
    this.tokenIssuer =
      config.tokens.issue && ports.blindSigner
        ? new TokenIssuer(config.tokens.issue, ports.blindSigner, ports.clock, tokenKeys)
        : undefined;
    this.#federation = new Federation(
      config,
      ports.federation,
      ports.replay,
      directory,
      ports.clock,
      ports.metrics,
      http,
      () => this.#keyRing.signingKey,
      this.#logger,
    );
    const closeAtOnce = config.roundIntervalMs === 0 ? () => this.closeRound() : undefined;
    this.#closeLogged = () =>
      this.closeRound().catch((error: unknown) => {
        this.#logger.log("error", "round_close_failed", "round close failed", {
          error: errorName(error),
        });
        throw error;
      });
    this.#deposits = depositIntakeFor(ports);
    this.#service = new RelayService(
      config,
      ports.inboxes,
      this.#deposits,
      ports.clock,
      closeAtOnce,
      this.#federation.clientHops,
    );
  }

  /**
   * Loads the key ring from the key store (creating one on first start) and builds a relay.
   * With a volatile replay set, HPKE and issuer keys from before this start are deleted at once:
   * the replay records and spent tokens that guarded them are gone. The signing key (the relay's
   * identity) stays.
   */
  static async open(config: RelayConfig, ports: RelayPorts): Promise<Relay> {
    const now = ports.clock.now();
    let stored = await ports.keys.load();
    if (!stored) {
      // Instances starting together on one backend must agree on one ring: the first wins.
      stored = await ports.keys.create(await generateKeyRing(now));
    } else if (!ports.replay.durable) {
      // Issuer keys go too: their spent set is gone, so their tokens could be spent again.
      stored = { ...(await rotateKeyRing(stored, now, 0)).ring, tokens: [] };
      await ports.keys.save(stored);
    }
    return new Relay(config, ports, await KeyRing.load(stored));
  }

  /** The HPKE keys and the signing key the relay holds now (for operator commands and tests). */
  get keyRing(): KeyRing {
    return this.#keyRing;
  }

  /** Runs maintenance once, then starts the round schedule and the maintenance timer. */
  async start(): Promise<void> {
    if (this.#maintenance) return;
    const maintain = () =>
      this.maintain().catch((error: unknown) =>
        this.#logger.log("error", "maintenance_failed", "maintenance failed", {
          error: errorName(error),
        }),
      );
    this.#maintenance = setInterval(maintain, this.config.maintenanceIntervalMs);
    await maintain();
    await this.#federation.start();
    if (this.config.roundIntervalMs > 0) {
      await this.ports.rounds.start(this.config.roundIntervalMs, this.#closeLogged);
    }
  }

  /**
   * Starts federation delivery alone, for runtimes where something outside this process closes
   * rounds and runs maintenance (on Workers, the round object's alarm) and no timer may live.
   */
  async startDelivery(): Promise<void> {
    await this.#federation.start();
  }

  /** Stops scheduling and delivers the open round, so nothing accepted is held back. */
  async stop(): Promise<void> {
    if (this.#maintenance) clearInterval(this.#maintenance);
    this.#maintenance = undefined;
    await this.ports.rounds.stop();
    await this.closeRound();
    await this.#federation.stop();
  }

  /** Closes the current round now and sends this round's federation batches. */
  async closeRound(): Promise<void> {
    await this.#closer.close();
    await this.#federation.flush();
  }

  /**
   * The unretired key with this id, reloading the key ring first (at most every 5 s) when it is
   * unknown: another instance or `shroud keys rotate` may have added it since the last reload.
   */
  async #keyFor(keyId: number) {
    const now = this.ports.clock.now();
    if (!this.#keyRing.lookup(keyId, now) && now - this.#lastKeyReload > KEY_RELOAD_BACKOFF_MS) {
      await this.reloadKeys();
    }
    return this.#keyRing.lookup(keyId, now);
  }

  /** Handles an inbound federation batch (POST /v1/federation); see Federation.receive. */
  receiveBatch(body: Uint8Array): Promise<"accepted" | "duplicate"> {
    return this.#federation.receive(body, (envelope, hops) =>
      this.#acceptForwarded(envelope, hops),
    );
  }

  /**
   * One envelope from a batch, handled as if a client had sent it, except that nobody waits
   * for an answer: deposits join the current round, forwards go on to their next hop, cover is
   * dropped. It is recorded in the replay set only after it was handled, so a batch retried
   * after a failure half way does not lose it; handling twice is harmless (deposits are
   * idempotent by message id, a forwarded envelope is refused as a replay at its next hop, and
   * the token an envelope spent the first time is honoured again for that envelope alone).
   */
  async #acceptForwarded(envelope: Uint8Array, hops: number): Promise<void> {
    const padding = this.config.padding;
    if (!padding.isBucket(envelope.length)) throw new DecodeError("envelope is not a bucket size");
    const keyId = requestKeyId(envelope);
    const key = await this.#keyFor(keyId);
    if (!key) throw new DecodeError("unknown key id");
    const opened = await openRequest((id) => (id === keyId ? key : undefined), envelope);
    if (await this.ports.replay.has(key.tag, opened.keying.enc)) return;
    const request = decode(relayRequestCodec, padding.unpad(opened.plaintext), padding.largest);
    let status = "dropped";
    const carried =
      request.kind === RequestKind.deposit ||
      (request.kind === RequestKind.forward && hops < this.config.federation.maxHops);
    const carrier =
      carried && request.token ? await tokenCarrier(key.tag, opened.keying.enc) : undefined;
    const refused = carried ? await this.#tokens.admit(request, carrier) : undefined;
    if (refused !== undefined) {
      status = relayStatusName(refused);
    } else if (request.kind === RequestKind.deposit) {
      status = relayStatusName((await this.#service.handle(request, 0)).status);
    } else if (request.kind === RequestKind.forward && carried) {
      status = relayStatusName((await this.#federation.forward(request, hops + 1)).status);
    }
    await this.ports.replay.add(key.tag, opened.keying.enc);
    this.ports.metrics.count(MetricName.requests, {
      kind: `forwarded_${requestKindName(request.kind)}`,
      status,
    });
  }

  /**
   * Expires old items and inboxes, picks up keys rotated by `shroud keys rotate`, rotates the
   * HPKE key once it is `keyRotationMs` old and deletes keys whose overlap has passed.
   */
  async maintain(): Promise<void> {
    const now = this.ports.clock.now();
    if (this.#failedRequests > 0) {
      this.#logger.log("warn", "requests_failed", "requests failed inside the relay", {
        count: this.#failedRequests,
        since: "last maintenance",
      });
      this.#failedRequests = 0;
    }
    await this.ports.inboxes.expire(dayOf(now));
    await this.#federation.maintain(dayOf(now));
    await this.#tokens.sweep();
    await this.reloadKeys();
    const current = this.#keyRing.stored;
    const newest = Math.max(...current.hpke.map((k) => k.createdAt));
    const rotated =
      now - newest >= this.config.keyRotationMs
        ? await rotateKeyRing(current, now, this.config.keyOverlapMs)
        : pruneKeyRing(current, now);
    const { removed } = rotated;
    const ring = await this.#withTokenKeys(rotated.ring, now);
    if (keyRingFingerprint(ring) !== keyRingFingerprint(current)) {
      // Another writer (`shroud keys rotate`, another instance) may have saved meanwhile: leave
      // its ring alone and redo this step on the next run rather than overwrite it.
      const latest = await this.ports.keys.load();
      if (latest && keyRingFingerprint(latest) !== keyRingFingerprint(current)) return;
      await this.ports.keys.save(ring);
      this.#keyRing = await KeyRing.load(ring);
      for (const tag of removed) await this.ports.replay.forget(tag);
    }
  }

  /**
   * The ring with its issuer keys rotated (expired ones dropped, a new one once none is in its
   * issuing half) when this relay issues; as it is otherwise, expired keys dropped.
   */
  async #withTokenKeys(ring: StoredKeyRing, now: number): Promise<StoredKeyRing> {
    const issue = this.tokenIssuer ? this.config.tokens.issue : undefined;
    const keys = ring.tokens ?? [];
    const next = issue
      ? await rotateTokenKeys(keys, now, issue.keyLifetimeMs)
      : keys.filter((k) => k.expiresAt > now);
    if (next.length === keys.length && next.every((k, i) => k === keys[i])) return ring;
    return { ...ring, tokens: next };
  }

  /** Re-reads the key store, e.g. after `shroud keys rotate`. */
  async reloadKeys(): Promise<void> {
    this.#lastKeyReload = this.ports.clock.now();
    const stored = await this.ports.keys.load();
    if (!stored) return;
    const fresh = await KeyRing.load(stored);
    if (fresh.fingerprint === this.#keyRing.fingerprint) return;
    // Keys another writer deleted (after their grace period) take their replay records along.
    const kept = new Set(stored.hpke.map(keyTag));
    for (const key of this.#keyRing.stored.hpke) {
      if (!kept.has(keyTag(key))) await this.ports.replay.forget(keyTag(key));
    }
    this.#keyRing = fresh;
  }

  /** The signed descriptor, re-signed when keys change or half its lifetime has passed. */
  async descriptor(): Promise<Uint8Array> {
    const now = this.ports.clock.now();
    const nowSeconds = Math.floor(now / 1000);
    const cached = this.#descriptor;
    const lifetime = this.config.descriptorLifetimeSeconds;
    if (
      cached &&
      cached.fingerprint === this.#keyRing.fingerprint &&
      nowSeconds - cached.issuedAt < lifetime / 2
    ) {
      return cached.bytes;
    }
    const body: Descriptor = {
      origin: this.config.origin,
      signingKey: this.#keyRing.stored.signing.publicKey,
      keys: this.#keyRing.published(now, nowSeconds + lifetime),
      buckets: [...this.config.padding.buckets],
      roundIntervalMs: this.config.roundIntervalMs,
      issuedAt: nowSeconds,
      expiresAt: nowSeconds + lifetime,
      ...this.#tokenPolicy(now),
    };
    const bytes = await signDescriptor(body, this.#keyRing.signingKey);
    this.#descriptor = { bytes, fingerprint: this.#keyRing.fingerprint, issuedAt: nowSeconds };
    return bytes;
  }

  /** The descriptor's token section: only on a relay that issues, takes or asks for tokens. */
  #tokenPolicy(now: number): Pick<Descriptor, "tokens"> {
    const { requirement, accept } = this.config.tokens;
    const issuerKeys = (this.tokenIssuer ? (this.#keyRing.stored.tokens ?? []) : [])
      .filter((k) => k.expiresAt > now)
      .map((k) => ({ publicKey: k.publicKey, notAfter: Math.floor(k.expiresAt / 1000) }));
    if (requirement === "off" && accept.length === 0 && issuerKeys.length === 0) return {};
    const acceptedIssuers = [
      ...new Set([...(issuerKeys.length ? [this.config.origin] : []), ...accept]),
    ];
    return {
      tokens: { issuerKeys, acceptedIssuers, requirement: TokenRequirement[requirement] },
    };
  }

  /**
   * The whole sealed pipeline for one POST /v1/relay body. Throws a ShroudError when the
   * envelope does not open (the HTTP layer maps it); once it opens, always returns a sealed
   * response: of the bucket the client asked for, or of the request's own size when the inner
   * request is malformed or asks for a larger response.
   */
  async handleSealed(body: Uint8Array): Promise<Uint8Array> {
    const padding = this.config.padding;
    if (!padding.isBucket(body.length)) throw new DecodeError("body is not a bucket size");
    const keyId = requestKeyId(body);
    const key = await this.#keyFor(keyId);
    if (!key) throw new UnknownKeyError();
    const opened = await openRequest((id) => (id === keyId ? key : undefined), body);
    const record: ReplayRecord = { keyTag: key.tag, enc: opened.keying.enc };

    const overhead = responseOverhead(opened.keying.suite);
    let request: RelayRequest | undefined;
    try {
      request = decode(relayRequestCodec, padding.unpad(opened.plaintext), padding.largest);
    } catch {
      request = undefined;
    }
    // A response may not outgrow its request: no amplification through the relay.
    const sized =
      request !== undefined &&
      padding.isBucket(request.responseSize) &&
      request.responseSize <= body.length;
    // Where a deposit is one atomic storage step (one Redis server: one script), a deposit that
    // spends no token takes its replay record into that step; everything else records it before
    // it is handled. Either way a replay is refused before it changes anything.
    const recordedWithDeposit =
      sized &&
      request!.kind === RequestKind.deposit &&
      !this.#tokens.active &&
      this.#deposits.atomic;
    if (!recordedWithDeposit && !(await this.ports.replay.add(record.keyTag, record.enc))) {
      throw new ReplayError();
    }
    let responseSize = body.length;
    let response: RelayResponse;
    if (!request || !sized) {
      response = { status: RelayStatus.bad_request };
    } else {
      responseSize = request.responseSize;
      response = await this.#handle(
        request,
        padding.capacity(responseSize, overhead),
        recordedWithDeposit ? record : undefined,
      );
    }
    const kind = request ? requestKindName(request.kind) : "invalid";
    this.ports.metrics.count(MetricName.requests, {
      kind,
      status: relayStatusName(response.status),
    });
    const plaintext = padding.pad(encode(relayResponseCodec, response), overhead, responseSize);
    return sealResponse(opened.keying, plaintext);
  }

  async #handle(
    request: RelayRequest,
    capacity: number,
    replay?: ReplayRecord,
  ): Promise<RelayResponse> {
    try {
      if (request.kind === RequestKind.deposit || request.kind === RequestKind.forward) {
        const refused = await this.#tokens.admit(request);
        if (refused !== undefined) return { status: refused };
      }
      return await this.#service.handle(request, capacity, replay);
    } catch (error) {
      // The deposit's step held the replay record: a replay is refused as any replay is, and a
      // failure (which recorded nothing) fails the request as a failed replay write does.
      if (replay) throw error;
      // Counted, not logged one by one: a line per failure would date each request.
      this.#failedRequests += 1;
      return { status: RelayStatus.internal };
    }
  }
}
