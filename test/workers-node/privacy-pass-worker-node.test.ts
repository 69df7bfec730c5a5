/**
 * Privacy Pass across a Node relay N and a Worker relay W (the repo's Worker in workerd under
 * wrangler's local runtime), over loopback HTTP. N issues tokens to holders of an invite; W issues
 * none (it cannot: WebCrypto has no raw RSA private operation) but requires one for every deposit
 * (SHROUD_TOKENS=always) and takes N's (SHROUD_TOKEN_ACCEPT), whose keys it learns from N's
 * signed descriptor, fetched from N's origin. The two are each other's federation peers here, as
 * one provider's relays would be (W fetches an accepted issuer's descriptor peer or not).
 *
 * - A client of N deposits at W with N's token; the item is fetched from W.
 * - The same token spent again at W, by another client holding a copy, is refused
 *   (token_refused) and stores nothing.
 * - A client without tokens is refused (token_required) and stores nothing.
 *
 * "Stores nothing" is shown by a later deposit that is accepted: once W's rounds have released
 * it, anything accepted before it would have been released too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient, type RelayClientOptions } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { TokenWallet } from "../../src/client/token-wallet.js";
import { TokenRequirement } from "../../src/protocol/descriptor.js";
import { inviteAttester } from "../../src/relay/attester.js";
import { MetricName, metricSeries } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { text, untext } from "../../testkit/text.js";
import { waitFor } from "../../testkit/wait.js";
import { startWorkerRelay, type WorkerRelay } from "../../testkit/worker-relay.js";
import { startRelay, type TestRelay } from "../federation/support.js";

const INVITE = "invite-worker-9Qm4Lx";
const attestation = { authorization: `Bearer ${INVITE}` };
const W_ROUND_MS = 200;
/** Building the bundle and starting workerd, on a busy 2-core machine. */
const START_TIMEOUT_MS = 240_000;
/** A deposit's way through W's rounds, and W's metrics reaching its metrics object. */
const RELEASE_TIMEOUT_MS = 30_000;

/** A wallet holding a copy of a token another client already spent, offered every time. */
class CopiedTokenWallet extends TokenWallet {
  readonly #copy: Uint8Array;

  constructor(issuer: string, copy: Uint8Array) {
    super(issuer);
    this.#copy = copy;
  }

  override async take(accepted: readonly string[]): Promise<Uint8Array | undefined> {
    return accepted.includes(this.issuer) ? this.#copy : undefined;
  }
}

describe("Privacy Pass: a Worker relay redeems a Node relay's tokens", () => {
  let n: TestRelay | undefined;
  let w: WorkerRelay | undefined;
  const clients: RelayClient[] = [];
  let wallet: TokenWallet;
  let payer: RelayClient;
  let inbox: Inbox;
  /** Everything accepted into `inbox` so far. */
  const expected: string[] = [];

  const N = () => n!;
  const W = () => w!;
  const deposits = (status: string) =>
    W().counter(metricSeries(MetricName.requests, { kind: "deposit", status }));

  async function clientOfW(options: RelayClientOptions = {}): Promise<RelayClient> {
    const client = await RelayClient.connect(W().url, { shaping: ShapingProfiles.off, ...options });
    clients.push(client);
    return client;
  }

  async function texts(box: Inbox): Promise<string[] | "not_found"> {
    const fetched = await payer.fetchAll(box);
    if (fetched.status === "not_found") return "not_found";
    if (fetched.status !== "ok") throw new Error(`fetch answered ${fetched.status}`);
    expect(fetched.unreadable).toEqual([]);
    return fetched.messages.map((m) => untext(m.payload)).sort();
  }

  /** Deposits `message` at W with a fresh token of N's, and waits until W has released it. */
  async function depositAndRelease(message: string): Promise<void> {
    expect(await payer.deposit(contactCard(inbox), text(message))).toEqual({
      status: "accepted",
      duplicate: false,
    });
    expected.push(message);
    await waitFor(
      () => texts(inbox),
      (got) => got !== "not_found" && got.includes(message),
      RELEASE_TIMEOUT_MS,
      `W to release "${message}"`,
    );
  }

  beforeAll(async () => {
    const wPort = await freePort();
    const wUrl = `http://127.0.0.1:${wPort}`;
    // N is the issuer: tokens asked for nowhere on N, issued to invite holders. Its rounds are
    // closed by hand (startRelay), and nothing here is deposited at N.
    n = await startRelay({
      // Another loopback address than the Worker's, so each side names a distinct origin.
      host: "127.0.0.3",
      backend: { kind: "memory" },
      attester: inviteAttester([INVITE]),
      config: {
        federation: { policy: "allowlist", peers: [wUrl] },
        tokens: {
          requirement: "off",
          freePerMinute: 0,
          accept: [],
          issue: { perPeriod: 50, periodMs: 3600_000, maxBatch: 20, keyLifetimeMs: 3600_000 },
        },
      },
    });
    w = await startWorkerRelay({
      port: wPort,
      roundMs: W_ROUND_MS,
      peers: [N().url],
      vars: { SHROUD_TOKENS: "always", SHROUD_TOKEN_ACCEPT: N().url },
    });
    expect(W().url).toBe(wUrl);

    wallet = new TokenWallet(N().url, { attestation, batchSize: 4, lowWater: 0 });
    payer = await clientOfW({ tokens: wallet });
    inbox = await createInbox(W().url, payer.descriptor.signingKey);
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await w?.close();
    await w?.remove();
    await n?.close();
  }, START_TIMEOUT_MS);

  it("publishes that it wants N's tokens, and issues none itself", async () => {
    expect(payer.descriptor.tokens).toEqual({
      issuerKeys: [],
      acceptedIssuers: [N().url],
      requirement: TokenRequirement.always,
    });
    // No issuer on W: its token route is not served.
    const issue = await fetch(new URL("/v1/tokens", W().url), {
      method: "POST",
      headers: attestation,
    });
    await issue.body?.cancel();
    expect(issue.status).toBe(404);
  });

  it("takes N's token for a deposit, and refuses the same token spent again", async () => {
    expect(await wallet.refill()).toBe(4);
    // take() hands out the wallet's tokens in order: this is the one the next deposit spends.
    const first = wallet.export()[0]!.token;
    await depositAndRelease("paid for");
    expect(wallet.size).toBe(3);
    expect(await texts(inbox)).toEqual(["paid for"]);

    // Another client, holding a copy of the spent token: W's spent set is the relay's own.
    const cheat = await clientOfW({ tokens: new CopiedTokenWallet(N().url, first) });
    expect(await cheat.deposit(contactCard(inbox), text("spent again"))).toEqual({
      status: "token_refused",
    });
    await depositAndRelease("paid for, later");
    expect(await texts(inbox)).toEqual([...expected].sort());
    // The client offered a replacement once, the same copy: refused both times.
    await waitFor(
      () => deposits("token_refused"),
      (refused) => refused >= 2,
      RELEASE_TIMEOUT_MS,
      "W to count the refused tokens",
    );
    expect(await deposits("token_refused")).toBe(2);
  });

  it("refuses deposits without a token, storing nothing", async () => {
    const bare = await clientOfW();
    const untouched = await createInbox(W().url, bare.descriptor.signingKey);
    const refusals = await Promise.all([
      bare.deposit(contactCard(inbox), text("free ride")),
      ...[1, 2, 3].map((i) => bare.deposit(contactCard(untouched), text(`free ride ${i}`))),
    ]);
    expect(refusals).toEqual(Array(4).fill({ status: "token_required" }));

    await depositAndRelease("paid for, after the free riders");
    expect(await texts(inbox)).toEqual([...expected].sort());
    // Not even the inbox exists: no tokenless deposit got into a round.
    expect(await texts(untouched)).toBe("not_found");
    await waitFor(
      () => deposits("token_required"),
      (required) => required >= 4,
      RELEASE_TIMEOUT_MS,
      "W to count the tokenless deposits",
    );
    expect(await deposits("token_required")).toBe(4);
    // Every token-paid deposit was taken, the only ones that were.
    expect(await deposits("accepted")).toBe(expected.length);
  });
});
