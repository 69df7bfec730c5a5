/**
 * Deposit envelopes built by a real RelayClient (payload sealed to the inbox, request encoded,
 * padded and HPKE-sealed to the relay) but captured instead of sent, so the relay-side rows can
 * replay them without paying for client-side sealing. Given a token wallet, the client puts a
 * token in each deposit that the relay's policy asks for, as it would when sending.
 */
import { contactCard, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import type { TokenWallet } from "../../src/client/token-wallet.js";
import { TransportError } from "../../src/protocol/errors.js";
import { BENCH_ORIGIN } from "./bench-relay.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/** HTTP status the capturing fetch answers POSTs with; the client turns it into TransportError. */
const NOT_SENT = 503;

/** Where the relay's descriptor comes from: an in-process BenchRelay, or a relay over HTTP. */
export interface DescriptorSource {
  /** The relay's origin (default BENCH_ORIGIN, the in-process bench relay's). */
  origin?: string;
  /** A fetch that reaches that relay. */
  fetch: typeof fetch;
}

/**
 * Seals `count` deposits of `message`, spread over `inboxes`, with `concurrency` in flight.
 * Descriptor requests go to `source`; POST bodies are kept and never reach a relay. `tokens`
 * pays for deposits under the relay's token policy (its refills go to the issuer, not `source`).
 */
export async function captureDeposits(
  source: DescriptorSource,
  inboxes: readonly Inbox[],
  message: Uint8Array,
  count: number,
  concurrency: number,
  tokens?: TokenWallet,
): Promise<Uint8Array[]> {
  const captured: Uint8Array[] = [];
  const capturing: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.method !== "POST") return source.fetch(request);
    captured.push(new Uint8Array(await request.arrayBuffer()));
    return new Response(null, { status: NOT_SENT });
  };
  const client = await RelayClient.connect(source.origin ?? BENCH_ORIGIN, {
    shaping: ShapingProfiles.off,
    fetch: capturing,
    ...(tokens ? { tokens } : {}),
  });
  const cards = inboxes.map(contactCard);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      try {
        await client.deposit(cards[i % cards.length]!, message);
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        continue;
      }
      throw new Error("capturing fetch did not stop the deposit");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (captured.length !== count) throw new Error(`captured ${captured.length} of ${count}`);
  return captured;
}
