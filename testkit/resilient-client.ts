/**
 * Clients for tests that restart relays under them: a RelayClient that reconnects across
 * restarts, CSPRNG-only randomness, and what a descriptor publishes. Used by the process tests
 * of every durable store (test/redis, test/sqlite).
 */
import { fromUtf8, toBase64Url } from "../src/protocol/bytes.js";
import { encode } from "../src/protocol/codec.js";
import { keyConfigCodec } from "../src/protocol/key-config.js";
import type { Descriptor } from "../src/protocol/descriptor.js";
import type { ContactCard, Inbox } from "../src/client/inbox.js";
import { RelayClient, type DepositResult } from "../src/client/relay-client.js";
import { TransportError } from "../src/protocol/errors.js";
import { ShapingProfiles } from "../src/client/shaping-profile.js";
import { sleep } from "./wait.js";

/** A uniformly drawn integer in [min, max] from the CSPRNG (rejection sampling, no bias). */
export function randomInt(min: number, max: number): number {
  const range = max - min + 1;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const [x] = crypto.getRandomValues(new Uint32Array(1));
    if (x! < limit) return min + (x! % range);
  }
}

/** The published keys of a descriptor as comparable strings. */
export function descriptorKeys(descriptor: Descriptor): { signing: string; hpke: string[] } {
  return {
    signing: toBase64Url(descriptor.signingKey),
    hpke: descriptor.keys.map((k) => toBase64Url(encode(keyConfigCodec, k.config))),
  };
}

/**
 * A RelayClient for one origin that survives relay restarts: connects lazily, and reconnects
 * when a call fails with anything but a transport error (a stale descriptor, say).
 */
export class ResilientClient {
  #client: RelayClient | undefined;
  /** Failures seen, by kind, for diagnostics. */
  readonly failures = new Map<string, number>();
  reconnects = 0;

  constructor(readonly origin: string) {}

  #note(kind: string): void {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  async #retry<T>(
    what: (client: RelayClient) => Promise<T>,
    done: (result: T) => boolean,
    deadline: number,
  ): Promise<T> {
    for (;;) {
      try {
        if (!this.#client) {
          this.#client = await RelayClient.connect(this.origin, { shaping: ShapingProfiles.off });
          this.reconnects++;
        }
        const result = await what(this.#client);
        if (done(result)) return result;
        this.#note(`status ${(result as { status: string }).status}`);
      } catch (error) {
        this.#note(error instanceof Error ? error.name : "error");
        if (!(error instanceof TransportError)) this.#client = undefined;
      }
      if (Date.now() > deadline) {
        throw new Error(`gave up on ${this.origin}: ${JSON.stringify([...this.failures])}`);
      }
      await sleep(10);
    }
  }

  /** The current client, connecting (with retries) if there is none. */
  ensureConnected(deadline = Date.now() + 40_000): Promise<RelayClient> {
    return this.#retry(
      async (c) => c,
      () => true,
      deadline,
    );
  }

  /** Deposits until the relay answers "accepted" (a duplicate counts), same message id each time. */
  deposit(
    card: ContactCard,
    message: Uint8Array,
    messageId: Uint8Array,
    deadline = Date.now() + 40_000,
  ): Promise<DepositResult> {
    return this.#retry(
      (c) => c.deposit(card, message, { messageId }),
      (r) => r.status === "accepted",
      deadline,
    );
  }

  /** Fetches every item after `afterSeq` until one fetch succeeds. */
  async fetchAll(
    inbox: Inbox,
    afterSeq = 0,
    deadline = Date.now() + 40_000,
  ): Promise<{ seq: number; text: string }[]> {
    const result = await this.#retry(
      (c) => c.fetchAll(inbox, afterSeq),
      (r) => r.status === "ok" || r.status === "not_found",
      deadline,
    );
    if (result.status !== "ok") return [];
    if (result.unreadable.length > 0) throw new Error(`unreadable items: ${result.unreadable}`);
    return result.messages.map((m) => ({ seq: m.seq, text: fromUtf8(m.payload) }));
  }
}

/** How often each text occurs. */
export function tally(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}
