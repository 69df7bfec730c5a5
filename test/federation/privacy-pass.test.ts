/**
 * Privacy Pass across two providers, on every backend: relay A issues tokens to the clients its
 * attester vouches for, relay B accepts A's tokens and requires one for every deposit. A client
 * of A deposits at B with A's tokens; a spent token is refused the second time; a tokenless flood
 * stores nothing while token holders get through; and the token itself never reaches B's
 * storage, logs or metrics (only the hash of its input, in the spent set).
 */
import { afterEach, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient, type RelayClientOptions } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { TokenWallet } from "../../src/client/token-wallet.js";
import { TokenUnavailableError } from "../../src/client/errors.js";
import { sha256, toHex } from "../../src/protocol/bytes.js";
import { tokenKeyId } from "../../src/protocol/token-key.js";
import { decode } from "../../src/protocol/codec.js";
import { tokenCodec, tokenInput } from "../../src/protocol/private-token.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { inviteAttester } from "../../src/relay/attester.js";
import { spentTag } from "../../src/relay/token-gate.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { text } from "../../testkit/text.js";
import { startRelay, type TestRelay } from "./support.js";

const INVITE = "invite-7Jx2kQ";
const HOST = "127.0.0.1";
const attestation = { authorization: `Bearer ${INVITE}` };

/** A wallet that hands out one token again and again: a client trying to spend it twice. */
class ReplayingWallet extends TokenWallet {
  fixed: Uint8Array | undefined;
  override async take(accepted: readonly string[]): Promise<Uint8Array | undefined> {
    this.fixed ??= await super.take(accepted);
    return this.fixed;
  }
}

const relays: TestRelay[] = [];
const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

describeEachBackend("Privacy Pass between two providers", (backends) => {
  async function pair(perPeriod = 50) {
    const a = await startRelay({
      host: HOST,
      backend: backends.a(),
      attester: inviteAttester([INVITE]),
      config: {
        tokens: {
          requirement: "off",
          freePerMinute: 0,
          accept: [],
          issue: { perPeriod, periodMs: 3600_000, maxBatch: 20, keyLifetimeMs: 3600_000 },
        },
      },
    });
    relays.push(a);
    const b = await startRelay({
      host: HOST,
      backend: backends.b(),
      config: { tokens: { requirement: "always", freePerMinute: 0, accept: [a.url] } },
    });
    relays.push(b);
    return { a, b };
  }

  async function clientOf(relay: TestRelay, options: RelayClientOptions = {}) {
    const client = await RelayClient.connect(relay.url, {
      shaping: ShapingProfiles.off,
      ...options,
    });
    clients.push(client);
    return client;
  }

  async function read(client: RelayClient, inbox: Inbox, relay: TestRelay): Promise<string[]> {
    await relay.relay.closeRound();
    const result = await client.fetch(inbox);
    if (result.status !== "ok") throw new Error(result.status);
    return result.messages.map((m) => new TextDecoder().decode(m.payload));
  }

  it("lets a client of A deposit at B with A's tokens, and refuses one spent twice", async () => {
    const { a, b } = await pair();
    const descriptor = (await clientOf(b)).descriptor;
    expect(descriptor.tokens?.acceptedIssuers).toEqual([a.url]);

    const wallet = new TokenWallet(a.url, { attestation, batchSize: 5, lowWater: 0 });
    expect(await wallet.refill()).toBe(5);
    const sender = await clientOf(b, { tokens: wallet });
    const inbox = await createInbox(b.url, descriptor.signingKey);
    const card = contactCard(inbox);
    expect((await sender.deposit(card, text("paid for"))).status).toBe("accepted");
    expect(wallet.size).toBe(4);
    expect(await read(sender, inbox, b)).toEqual(["paid for"]);

    const replaying = new ReplayingWallet(a.url, { attestation, batchSize: 1 });
    const cheat = await clientOf(b, { tokens: replaying });
    expect((await cheat.deposit(card, text("first"))).status).toBe("accepted");
    expect((await cheat.deposit(card, text("second"))).status).toBe("token_refused");
    expect(await read(sender, inbox, b)).toEqual(["paid for", "first"]);

    // The spent set holds the hash of the token's input, never the token.
    const token = decode(tokenCodec, replaying.fixed!);
    const hash = await sha256(tokenInput(token));
    const expiry = await issuerKeyExpiry(a, token.tokenKeyId);
    expect(await b.ports.replay.has(spentTag(dayOf(expiry)), hash)).toBe(true);
    const seen = [b.written(), (await b.state()).blob, Buffer.from(b.logs.join("\n"))];
    for (const blob of seen) {
      expect(blob.includes(Buffer.from(replaying.fixed!))).toBe(false);
      expect(blob.includes(Buffer.from(token.authenticator))).toBe(false);
      expect(blob.toString("latin1").includes(toHex(token.nonce))).toBe(false);
    }
  }, 60_000);

  it("stores nothing for a tokenless flood while token holders get through", async () => {
    const { a, b } = await pair();
    const inbox = await createInbox(b.url, (await clientOf(b)).descriptor.signingKey);
    const card = contactCard(inbox);
    const flooder = await clientOf(b);
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) => flooder.deposit(card, text(`junk ${i}`))),
    );
    expect(flood.every((r) => r.status === "token_required")).toBe(true);
    // Not even the inbox exists: the flood left nothing but its envelopes' replay records.
    await b.relay.closeRound();
    expect((await flooder.fetch(inbox)).status).toBe("not_found");

    const holder = await clientOf(b, {
      tokens: new TokenWallet(a.url, { attestation, batchSize: 3 }),
    });
    for (const i of [1, 2, 3]) {
      expect((await holder.deposit(card, text(`real ${i}`))).status).toBe("accepted");
    }
    expect((await read(holder, inbox, b)).sort()).toEqual(["real 1", "real 2", "real 3"]);
  }, 60_000);

  it("issues only to attested clients, within their allowance", async () => {
    const { a } = await pair(6);
    await expect(new TokenWallet(a.url, { batchSize: 2 }).refill()).rejects.toThrow(
      TokenUnavailableError,
    );
    const wrong = { authorization: "Bearer not-the-invite" };
    await expect(new TokenWallet(a.url, { attestation: wrong }).refill()).rejects.toThrow(
      /HTTP 401/,
    );
    const wallet = new TokenWallet(a.url, { attestation, batchSize: 4 });
    expect(await wallet.refill()).toBe(4);
    // 4 of 6 used: another 4 would pass the allowance, and none is issued.
    await expect(wallet.refill()).rejects.toThrow(/HTTP 429/);
    expect(wallet.size).toBe(4);
  }, 60_000);
});

/** When A's issuer key named by `id` expires. */
async function issuerKeyExpiry(a: TestRelay, id: Uint8Array): Promise<number> {
  for (const key of a.relay.keyRing.stored.tokens ?? []) {
    const keyId = await tokenKeyId(key.publicKey);
    if (toHex(keyId) === toHex(id)) return key.expiresAt;
  }
  throw new Error("no such issuer key");
}
