/**
 * Federation: carrying sealed traffic for and through other relays.
 *
 * - forward: a client's envelope sealed to a peer waits in the federation queue and leaves in
 *   a later round's batch to that peer. This relay learns the client's address and "something
 *   for that peer"; the peer learns the inbox and "from this relay".
 * - proxy: a client's sealed request goes to the peer; the peer's sealed answer comes back
 *   inside this relay's sealed answer (the OHTTP relay role).
 * - peer_descriptor: a peer's signed descriptor, fetched by this relay so the peer never sees
 *   the client.
 * - client requests (`clientHops`): with `ingressRelease` "round" (the default), proxied
 *   requests leave together at the next round boundary in a random order, and the answers to
 *   forwards, proxies and descriptor requests go back per next hop together (ingress-release.ts).
 * - batches: every round every link gets exactly `batchesPerRound` batches of `slotsPerBatch`
 *   slots, real envelopes among cover in random positions, however much or little it has to
 *   carry; envelopes beyond a round's capacity wait in the queue for the next rounds. Inbound
 *   batches are checked from their headers before the body is read (federation on, declared
 *   size, the sender they name allowed), then in full (the signed origin is the sender named,
 *   signature, destination, batch id) before each envelope is handled as if a client had sent
 *   it.
 *
 * Under "open", a next hop that is not a configured peer takes forwards only once its verified
 * descriptor is had (so batches go to relays, not to any host a client names) and only while
 * fewer than `maxDynamicPeers` such hops took forwards in the last round. Its link then keeps
 * the fixed rate for `dynamicLinkMs` after the last round it had traffic (at most
 * `maxDynamicPeers` such links, the one idle longest dropped first), so its volume does not show
 * which rounds carried something. Metrics name configured peers; all others are counted together
 * as "other", so clients cannot grow the metrics.
 */
import { fromHex, randomBytes, toHex, utf8 } from "../protocol/bytes.js";
import { normalizeOrigin, usableKeys } from "../protocol/descriptor.js";
import { CryptoError, DecodeError, TooLargeError } from "../protocol/errors.js";
import { PolicyError } from "./errors.js";
import {
  batchOrigin,
  coverSlot,
  decodeSlot,
  encodeSlot,
  signBatch,
  verifyBatch,
  type Slot,
} from "../protocol/federation-batch.js";
import { MediaTypes } from "../protocol/labels.js";
import {
  RequestKind,
  type ForwardRequest,
  type PeerDescriptorRequest,
  type ProxyRequest,
} from "../protocol/relay-request.js";
import type { RelayResponse } from "../protocol/relay-response.js";
import { RelayStatus } from "../protocol/relay-status.js";
import { dayOf, type Clock } from "./ports/clock.js";
import type { FederationQueue, OutboundClaim } from "./ports/federation-queue.js";
import type { Logger } from "./ports/logger.js";
import { MetricName, type Metrics } from "./ports/metrics.js";
import type { ReplaySet } from "./ports/replay-set.js";
import { IngressRelease } from "./ingress-release.js";
import { federationAllows, type PeerDirectory } from "./peer-directory.js";
import { readLimited } from "./read-limited.js";
import type { FederationConfig, RelayConfig } from "./relay-config.js";
import type { HopHandler } from "./relay-service.js";
import { secureShuffle } from "./shuffle.js";

const DELIVERY_TIMEOUT_MS = 30_000;
/** Days back that maintenance looks for batch-id records to forget (covers downtime). */
const FORGET_WINDOW_DAYS = 60;
/** Least time between two log lines about dropped dead letters (each drop is counted). */
const DROP_LOG_INTERVAL_MS = 10 * 60_000;
/** Least time between two warnings of one kind about one peer. */
const PEER_LOG_INTERVAL_MS = 60_000;
/** The metrics label of every peer that is not a configured one. */
const OTHER_PEER = "other";

/**
 * Request header of POST /v1/federation naming the sending relay's origin, so that a batch can
 * be refused before its body is read; the origin signed inside the batch must be the same.
 */
export const BATCH_SENDER_HEADER = "shroud-batch-origin";

/**
 * Checks an inbound batch from its request headers alone, before any of its body is read, and
 * returns the sender it names (normalised). Throws PolicyError when federation is off (an
 * allowlist naming no peer) or the sender is not allowed, TooLargeError when the declared
 * length is beyond `maxBatchBytes`, DecodeError when no valid sender is named.
 *
 * @example const sender = admitBatch(config.federation, request.headers);
 */
export function admitBatch(settings: FederationConfig, headers: Headers): string {
  if (settings.policy === "allowlist" && settings.peers.length === 0) {
    throw new PolicyError("federation is off");
  }
  const length = headers.get("content-length");
  if (length !== null) {
    if (!/^\d+$/.test(length.trim())) throw new DecodeError("invalid content length");
    if (Number(length.trim()) > settings.maxBatchBytes) throw new TooLargeError();
  }
  const named = headers.get(BATCH_SENDER_HEADER);
  if (named === null) throw new DecodeError("no batch sender named");
  let sender: string;
  try {
    sender = normalizeOrigin(named);
  } catch {
    throw new DecodeError("invalid batch sender");
  }
  if (!federationAllows(settings, sender)) throw new PolicyError();
  return sender;
}

/**
 * Refuses (PolicyError) a batch whose signed origin is not the sender its request named; the
 * signed origin is the one the batch is then verified against.
 *
 * @example checkBatchSender(body, admitBatch(config.federation, headers), config.federation.maxBatchBytes);
 */
export function checkBatchSender(body: Uint8Array, sender: string, maxBatchBytes: number): void {
  let claimed: string;
  try {
    claimed = normalizeOrigin(batchOrigin(body, maxBatchBytes));
  } catch (error) {
    if (error instanceof TooLargeError || error instanceof DecodeError) throw error;
    throw new DecodeError("invalid batch origin");
  }
  if (claimed !== sender) throw new PolicyError("batch of another sender");
}

/** Rejects with the deadline's reason if `signal` aborts before `work` settles. */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** What the relay does with one envelope that arrived in a batch. */
export type AcceptForwarded = (envelope: Uint8Array, hops: number) => Promise<void>;

function batchTag(day: number): string {
  return `batch-ids:${day}`;
}

/** The next hop a client named, as the key its answers are released under. */
function releaseGroup(named: string): string {
  try {
    return normalizeOrigin(named);
  } catch {
    return "";
  }
}

export class Federation {
  /** Next hops that are not configured peers -> until when they count as a link (ms). */
  readonly #dynamic = new Map<string, number>();
  /**
   * Links to relays that are not configured peers -> until when they keep their batches (ms),
   * in the order they last had traffic (least recent first). In this instance's memory: it
   * learns a link when one of its flushes finds slots held for it (`peersWithTraffic`).
   */
  readonly #lingering = new Map<string, number>();
  #droppedLoggedAt = -Infinity;
  /** Per event and peer label: when a warning was last logged, and how many were held back. */
  readonly #peerWarnings = new Map<string, { at: number; count: number }>();
  /** Peer labels whose last delivery failed. */
  readonly #downPeers = new Set<string>();
  /** Holds clients' hop requests to the round boundary (ingressRelease "round"). */
  readonly #release: IngressRelease | undefined;
  /**
   * What this relay does with its own clients' forward, proxy and peer_descriptor requests:
   * with `ingressRelease` "round", held and released per round (see ingress-release.ts);
   * otherwise handled and answered at once. Forwards arriving in a batch do not come here.
   */
  readonly clientHops: HopHandler;

  constructor(
    private readonly config: RelayConfig,
    private readonly queue: FederationQueue,
    private readonly replay: ReplaySet,
    private readonly directory: PeerDirectory,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly http: typeof fetch,
    private readonly signingKey: () => CryptoKey,
    private readonly logger: Logger,
  ) {
    const { policy, peers, ingressRelease } = config.federation;
    const on = policy === "open" || peers.length > 0;
    const release =
      on && ingressRelease === "round" && config.roundIntervalMs > 0
        ? new IngressRelease(config.roundIntervalMs, clock)
        : undefined;
    this.#release = release;
    this.clientHops = release
      ? {
          forward: (request) =>
            release.answer(releaseGroup(request.nextHop), () => this.forward(request)),
          proxy: (request, capacity) =>
            release.exchange(releaseGroup(request.nextHop), () => this.proxy(request, capacity)),
          peerDescriptor: (request, capacity) =>
            release.answer(releaseGroup(request.origin), () =>
              this.peerDescriptor(request, capacity),
            ),
        }
      : {
          forward: (request) => this.forward(request),
          proxy: (request, capacity) => this.proxy(request, capacity),
          peerDescriptor: (request, capacity) => this.peerDescriptor(request, capacity),
        };
  }

  get #settings() {
    return this.config.federation;
  }

  /** A client-named relay as a normalised origin, or the answer refusing it. */
  #peer(named: string): string | RelayResponse {
    let origin: string;
    try {
      origin = normalizeOrigin(named);
    } catch {
      return { status: RelayStatus.bad_request };
    }
    return this.directory.allows(origin) ? origin : { status: RelayStatus.forbidden };
  }

  /** How metrics name a peer: configured peers by origin, all others together. */
  #label(peer: string): { peer: string } {
    return { peer: this.directory.isConfigured(peer) ? peer : OTHER_PEER };
  }

  /**
   * Whether a next hop that is not a configured peer may take a forward now: its verified
   * descriptor can be had and it is one of at most `maxDynamicPeers` such hops within a round
   * (at least a second), counted from each one's last forward.
   */
  async #admitDynamic(peer: string): Promise<boolean> {
    const max = this.#settings.maxDynamicPeers;
    const fits = () => {
      if (this.#dynamic.has(peer) || this.#dynamic.size < max) return true;
      // Full: forget the hops whose round has passed (the map never holds more than `max`).
      const now = this.clock.now();
      for (const [hop, until] of this.#dynamic) if (until <= now) this.#dynamic.delete(hop);
      return this.#dynamic.size < max;
    };
    if (!fits()) return false;
    try {
      await this.directory.get(peer);
    } catch {
      return false;
    }
    // Other forwards may have taken the last places meanwhile.
    if (!fits()) return false;
    this.#dynamic.set(peer, this.clock.now() + Math.max(this.config.roundIntervalMs, 1000));
    return true;
  }

  /** Holds a client's envelope for `nextHop` until the next batch (hops so far: `hops`). */
  async forward(request: ForwardRequest, hops = 1): Promise<RelayResponse> {
    const nextHop = this.#peer(request.nextHop);
    if (typeof nextHop !== "string") return nextHop;
    if (request.envelope.length > this.#settings.slotCapacity) {
      return { status: RelayStatus.too_large };
    }
    if (!this.config.padding.isBucket(request.envelope.length)) {
      return { status: RelayStatus.bad_request };
    }
    if (!this.directory.isConfigured(nextHop) && !(await this.#admitDynamic(nextHop))) {
      return { status: RelayStatus.unavailable };
    }
    const slot = encodeSlot({ hops, envelope: request.envelope }, this.#settings.slotCapacity);
    await this.queue.hold(nextHop, slot);
    return { status: RelayStatus.accepted, kind: RequestKind.forward };
  }

  /**
   * Passes a sealed request to `nextHop` now and returns its sealed answer (clients' requests
   * come here through `clientHops`, at the round boundary by default). A next hop that is
   * unreachable or has not answered in full by the deadline (`proxyTimeoutMs`, the body
   * included) gives `unavailable`, counted rather than logged. When it answers 422 (it does not
   * know the key the client sealed to, e.g. after a restart), this relay fetches its descriptor
   * again (at most once per peer per REFRESH_INTERVAL_MS) before answering, so the client's
   * next peer_descriptor request gets the peer's current keys.
   */
  async proxy(request: ProxyRequest, capacity: number): Promise<RelayResponse> {
    const nextHop = this.#peer(request.nextHop);
    if (typeof nextHop !== "string") return nextHop;
    const deadline = AbortSignal.timeout(this.#settings.proxyTimeoutMs);
    let response: Response;
    let body: Uint8Array | undefined;
    try {
      // The signal aborts the exchange; the race holds the deadline even for an `http` that
      // does not honour it.
      response = await beforeDeadline(
        this.http(new URL("/v1/relay", nextHop), {
          method: "POST",
          headers: { "content-type": MediaTypes.request },
          body: new Uint8Array(request.envelope),
          redirect: "manual",
          signal: deadline,
        }),
        deadline,
      );
      // status, kind, uint16 and a varint of up to 4 bytes frame the answer.
      body = await beforeDeadline(readLimited(response, capacity - 8), deadline);
    } catch {
      this.metrics.count(MetricName.federationProxyFailures, this.#label(nextHop));
      return { status: RelayStatus.unavailable };
    }
    if (body === undefined) return { status: RelayStatus.too_large };
    if (response.status === 422) await this.directory.refresh(nextHop).catch(() => undefined);
    return {
      status: RelayStatus.ok,
      kind: RequestKind.proxy,
      httpStatus: response.status,
      response: body,
    };
  }

  /** A peer's signed descriptor, as this relay fetched and verified it. */
  async peerDescriptor(request: PeerDescriptorRequest, capacity: number): Promise<RelayResponse> {
    const origin = this.#peer(request.origin);
    if (typeof origin !== "string") return origin;
    try {
      const { bytes } = await this.directory.get(origin);
      if (bytes.length + 6 > capacity) return { status: RelayStatus.too_large };
      return { status: RelayStatus.ok, kind: RequestKind.peer_descriptor, descriptor: bytes };
    } catch {
      return { status: RelayStatus.unavailable };
    }
  }

  /**
   * Handles an inbound batch. Throws (for the HTTP mapping) when it is refused as a whole:
   * TooLargeError, DecodeError, PolicyError, CryptoError, or a Transport/DescriptorError when
   * the sender's descriptor cannot be had (so the sender retries). Resolves for an accepted
   * batch and for a duplicate, which is acknowledged and dropped.
   */
  async receive(body: Uint8Array, accept: AcceptForwarded): Promise<"accepted" | "duplicate"> {
    if (body.length > this.#settings.maxBatchBytes) throw new TooLargeError();
    const claimed = batchOrigin(body, this.#settings.maxBatchBytes);
    let sender: string;
    try {
      sender = normalizeOrigin(claimed);
    } catch {
      throw new DecodeError("invalid batch origin");
    }
    if (!this.directory.allows(sender)) throw new PolicyError();
    const { descriptor } = await this.directory.get(sender);
    const batch = await verifyBatch(body, descriptor.signingKey, this.#settings.maxBatchBytes);
    let destination: string | undefined;
    try {
      destination = normalizeOrigin(batch.destination);
    } catch {
      destination = undefined;
    }
    if (destination !== this.config.origin) throw new PolicyError("batch for another relay");
    const record = utf8(`${sender} ${toHex(batch.batchId)}`);
    const today = dayOf(this.clock.now());
    for (let day = today - this.#settings.batchIdDays + 1; day <= today; day++) {
      if (await this.replay.has(batchTag(day), record)) return "duplicate";
    }
    // Envelopes are replay-protected one by one, so a batch retried after a failure part way
    // through delivers each of them once; the batch id is recorded only once all are handled.
    for (const slot of batch.slots) {
      try {
        await accept(slot.envelope, slot.hops);
      } catch (error) {
        if (!(error instanceof DecodeError || error instanceof CryptoError)) throw error;
      }
    }
    await this.replay.add(batchTag(today), record);
    this.metrics.count(MetricName.federationBatchesReceived, this.#label(sender));
    return "accepted";
  }

  /**
   * Sends this round's batches: exactly `batchesPerRound` on every link (configured peers,
   * peers with traffic, and dynamic links still within `dynamicLinkMs`), idle or busy.
   */
  async flush(): Promise<void> {
    for (const claim of await this.queue.unsent()) await this.#send(claim);
    const { slotsPerBatch, batchesPerRound } = this.#settings;
    const backlogged: string[] = [];
    for (const peer of this.#links(await this.queue.peersWithTraffic())) {
      // Held envelopes first, cover for the rest; what does not fit waits for a later round,
      // so the link's volume never follows its traffic.
      let drained = false;
      for (let i = 0; i < batchesPerRound; i++) {
        const claim: OutboundClaim = drained
          ? { id: toHex(randomBytes(16)), peer, slots: [] }
          : await this.queue.claim(peer, slotsPerBatch);
        drained = claim.slots.length < slotsPerBatch;
        await this.#send(claim);
      }
      if (!drained) backlogged.push(peer);
    }
    if (backlogged.length === 0) return;
    const waiting = new Set(await this.queue.peersWithTraffic());
    for (const peer of backlogged) {
      if (waiting.has(peer))
        this.metrics.count(MetricName.federationBacklogRounds, this.#label(peer));
    }
  }

  /**
   * This round's links: configured peers, peers with held slots, and relays that are not
   * configured peers whose last traffic is at most `dynamicLinkMs` ago (at most
   * `maxDynamicPeers` of these, the one idle longest dropped first).
   */
  #links(withTraffic: string[]): string[] {
    const { dynamicLinkMs, maxDynamicPeers } = this.#settings;
    const now = this.clock.now();
    for (const peer of withTraffic) {
      if (this.directory.isConfigured(peer)) continue;
      // Re-inserted, so the map stays in the order of last traffic.
      this.#lingering.delete(peer);
      this.#lingering.set(peer, now + dynamicLinkMs);
    }
    for (const [peer, until] of this.#lingering) {
      if (until <= now || this.#lingering.size > maxDynamicPeers) this.#lingering.delete(peer);
    }
    return [
      ...new Set([...this.directory.configuredPeers, ...withTraffic, ...this.#lingering.keys()]),
    ];
  }

  async #send(claim: OutboundClaim): Promise<void> {
    const { slotCapacity, slotsPerBatch } = this.#settings;
    const slots: Slot[] = [];
    for (const raw of claim.slots) {
      try {
        slots.push(decodeSlot(raw, slotCapacity));
      } catch {
        this.logger.log("warn", "envelope_dropped", "dropped a held envelope of another slot size");
      }
    }
    const header = this.#coverHeader(claim.peer);
    const coverLength = Math.min(this.config.padding.buckets[0]!, slotCapacity);
    while (slots.length < slotsPerBatch) slots.push(coverSlot(header, coverLength));
    const batch = await signBatch(
      {
        origin: this.config.origin,
        destination: claim.peer,
        batchId: fromHex(claim.id),
        slotCapacity,
        slots: secureShuffle(slots),
      },
      this.signingKey(),
    );
    await this.queue.send(claim, batch);
    this.metrics.count(MetricName.federationBatchesSent, this.#label(claim.peer));
  }

  /** The request header a real envelope to `peer` would start with, for cover to copy. */
  #coverHeader(peer: string): Uint8Array {
    const cached = this.directory.cached(peer)?.descriptor;
    // Clients seal to the newest usable key, so cover copies that one.
    const key = cached ? usableKeys(cached, this.clock.now())[0]?.config : undefined;
    const header = new Uint8Array(7);
    const view = new DataView(header.buffer);
    view.setUint8(0, key?.keyId ?? 0);
    view.setUint16(1, key?.kemId ?? 0x20);
    view.setUint16(3, key?.suites[0]?.kdfId ?? 1);
    view.setUint16(5, key?.suites[0]?.aeadId ?? 1);
    return header;
  }

  /** Sends one batch to its peer; throws unless the peer acknowledged it (HTTP 200). */
  readonly deliver = async (peer: string, batch: Uint8Array): Promise<void> => {
    // The peer's key is fetched ahead, so cover in later batches looks like real envelopes.
    void this.directory.get(peer).catch(() => undefined);
    let response: Response;
    try {
      response = await this.http(new URL("/v1/federation", peer), {
        method: "POST",
        headers: {
          "content-type": MediaTypes.federationBatch,
          [BATCH_SENDER_HEADER]: this.config.origin,
        },
        body: new Uint8Array(batch),
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
    } catch (error) {
      this.#deliveryFailed(peer);
      throw error;
    }
    // The answer is a word; reading it (rather than cancelling) lets the connection be reused
    // and spares the peer a write into a closed socket.
    await readLimited(response, 1024).catch(() => undefined);
    if (response.status !== 200) {
      this.#deliveryFailed(peer);
      throw new Error(`peer answered HTTP ${response.status}`);
    }
    this.metrics.count(MetricName.federationBatchesDelivered, this.#label(peer));
    if (this.#downPeers.delete(this.#label(peer).peer)) {
      this.#peerWarnings.delete(`peer_unreachable ${this.#label(peer).peer}`);
      this.logger.log(
        "info",
        "peer_reachable",
        "federation peer reachable again",
        this.#label(peer),
      );
    }
  };

  /** Starts delivery, unless federation is off (an allowlist naming no peer): nothing to send. */
  async start(): Promise<void> {
    const { policy, peers } = this.#settings;
    if (policy === "allowlist" && peers.length === 0) return;
    await this.queue.startDelivery(
      this.deliver,
      { ...this.#settings.delivery, maxDeadLetters: this.#settings.maxDeadLetters },
      (peer) => {
        this.metrics.count(MetricName.federationDeadLettered, this.#label(peer));
        this.#warnAboutPeer(
          "dead_lettered",
          "a federation batch ran out of attempts: moved to the dead-letter queue",
          peer,
        );
      },
      () => this.#deadLetterDropped(),
    );
  }

  /** Counts a dead letter dropped at the cap; says so in the log now and then, never which. */
  #deadLetterDropped(): void {
    this.metrics.count(MetricName.federationDeadLettersDropped);
    const now = this.clock.now();
    if (now - this.#droppedLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.#droppedLoggedAt = now;
    this.logger.log(
      "warn",
      "dead_letter_dropped",
      "dropped the oldest federation dead letter (maxDeadLetters reached)",
    );
  }

  /**
   * A warning about `peer` at most once per PEER_LOG_INTERVAL_MS for each event, saying how
   * many it stood for: a peer that stays down gives a line a minute, not one per batch.
   */
  #warnAboutPeer(event: string, message: string, peer: string): void {
    const key = `${event} ${this.#label(peer).peer}`;
    const now = this.clock.now();
    const last = this.#peerWarnings.get(key);
    if (last && now - last.at < PEER_LOG_INTERVAL_MS) {
      last.count += 1;
      return;
    }
    const fields = { ...this.#label(peer), ...(last?.count ? { more: last.count } : {}) };
    this.#peerWarnings.set(key, { at: now, count: 0 });
    this.logger.log("warn", event, message, fields);
  }

  /** A delivery to `peer` failed: it is down (or refusing) until one succeeds. */
  #deliveryFailed(peer: string): void {
    this.metrics.count(MetricName.federationDeliveryFailures, this.#label(peer));
    this.#downPeers.add(this.#label(peer).peer);
    this.#warnAboutPeer("peer_unreachable", "federation peer unreachable; retrying", peer);
  }

  /** Releases the clients' hop requests still held, then stops delivery. */
  async stop(): Promise<void> {
    this.#release?.releaseAll();
    await this.queue.stopDelivery();
  }

  /** The last day whose batch ids this process has forgotten. */
  #forgottenThrough: number | undefined;

  /**
   * Forgets batch ids older than the dedup window: the first time back FORGET_WINDOW_DAYS (to
   * cover downtime), then only the days that left the window since, so a backend where each
   * forget is a round trip per shard (Workers) is not asked again for the same days.
   */
  async maintain(today: number): Promise<void> {
    const last = today - this.#settings.batchIdDays;
    const first = Math.max(last - FORGET_WINDOW_DAYS, (this.#forgottenThrough ?? -Infinity) + 1);
    for (let day = first; day <= last; day++) await this.replay.forget(batchTag(day));
    this.#forgottenThrough = Math.max(last, this.#forgottenThrough ?? last);
  }
}
