/**
 * Redemption rules, on the gate itself: a token is taken once, only under a key the relay
 * trusts, before that key expires and for this issuer's challenge; a retried envelope gets
 * through again on the token it spent, no other envelope does; and under "allowance" tokenless
 * requests pass until the minute's free share is used.
 */
import { describe, expect, it } from "vitest";
import { MemoryReplaySet } from "../../src/adapters/memory/memory-replay-set.js";
import { nodeBlindSigner } from "../../src/adapters/node/node-blind-signer.js";
import { randomBytes, sha256 } from "../../src/protocol/bytes.js";
import { encode } from "../../src/protocol/codec.js";
import {
  finishToken,
  requestToken,
  shroudTokenChallenge,
  tokenCodec,
} from "../../src/protocol/private-token.js";
import { RequestKind, type DepositRequest } from "../../src/protocol/relay-request.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { decodeTokenKey, tokenKeyId } from "../../src/protocol/token-key.js";
import { PeerDirectory } from "../../src/relay/peer-directory.js";
import {
  DEFAULT_FEDERATION,
  DEFAULT_TOKEN_ISSUE,
  DEFAULT_TOKENS,
  relayConfig,
  type TokenConfig,
} from "../../src/relay/relay-config.js";
import { createRelayApp } from "../../src/relay/app.js";
import { Relay } from "../../src/relay/relay.js";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { tokenCarrier, TokenGate } from "../../src/relay/token-gate.js";
import { generateTokenKey, type StoredTokenKey } from "../../src/relay/token-keys.js";
import { manualClock } from "../../testkit/manual-clock.js";

const ORIGIN = "https://a.example";
const HOUR = 3600_000;

/** A real token: blinded here, signed with the key's private half, finished and checked. */
async function mint(key: StoredTokenKey, issuer = ORIGIN): Promise<Uint8Array> {
  const pk = decodeTokenKey(key.publicKey);
  const id = await tokenKeyId(key.publicKey);
  const pending = await requestToken(pk, id, shroudTokenChallenge(issuer));
  const signature = await nodeBlindSigner().sign(key.privateKey, pending.request.blindedMsg);
  return encode(tokenCodec, await finishToken(pk, pending, signature));
}

function deposit(token?: Uint8Array): DepositRequest {
  return {
    kind: RequestKind.deposit,
    responseSize: 1024,
    readId: randomBytes(32),
    writeToken: randomBytes(32),
    messageId: randomBytes(16),
    flags: 0,
    payload: randomBytes(64),
    ...(token ? { token } : {}),
  };
}

async function setup(config: Partial<TokenConfig> = {}) {
  const clock = manualClock();
  const replay = new MemoryReplaySet();
  const own = [await generateTokenKey(clock.now(), HOUR)];
  const gate = new TokenGate(
    { requirement: "always", freePerMinute: 0, accept: [], ...config },
    ORIGIN,
    replay,
    clock,
    // No peer is accepted: the directory is never asked.
    new PeerDirectory(DEFAULT_FEDERATION, clock, fetch),
    () => own,
  );
  return { clock, replay, own, gate };
}

describe("TokenGate", () => {
  it("takes a token of its own key once", async () => {
    const { gate, own } = await setup();
    const token = await mint(own[0]!);
    expect(await gate.admit(deposit(token))).toBeUndefined();
    expect(await gate.admit(deposit(token))).toBe(RelayStatus.token_refused);
  });

  it("takes every one of many first tokens that arrive at once", async () => {
    const { gate, own } = await setup();
    const tokens = await Promise.all(Array.from({ length: 16 }, () => mint(own[0]!)));
    // The gate indexes its keys on the first redemption; the others must wait for that.
    const outcomes = await Promise.all(tokens.map((t) => gate.admit(deposit(t))));
    expect(outcomes).toEqual(tokens.map(() => undefined));
  });

  it("refuses a token whose issuer key has expired, and spends nothing", async () => {
    const { gate, own, clock } = await setup();
    const token = await mint(own[0]!);
    clock.advance(HOUR);
    expect(await gate.admit(deposit(token))).toBe(RelayStatus.token_refused);
    // Back before expiry (a clock step), the same token is still unspent.
    clock.advance(-1);
    expect(await gate.admit(deposit(token))).toBeUndefined();
  });

  it("refuses a token of a key it does not know", async () => {
    const { gate, clock } = await setup();
    const stranger = await generateTokenKey(clock.now(), HOUR);
    expect(await gate.admit(deposit(await mint(stranger)))).toBe(RelayStatus.token_refused);
  });

  it("refuses a token made for another issuer's challenge under its own key", async () => {
    const { gate, own } = await setup();
    const token = await mint(own[0]!, "https://b.example");
    expect(await gate.admit(deposit(token))).toBe(RelayStatus.token_refused);
  });

  it("refuses bytes that are no token, and a token whose signature was altered", async () => {
    const { gate, own } = await setup();
    expect(await gate.admit(deposit(randomBytes(40)))).toBe(RelayStatus.token_refused);
    const token = await mint(own[0]!);
    token[token.length - 1]! ^= 1;
    expect(await gate.admit(deposit(token))).toBe(RelayStatus.token_refused);
  });

  it("asks for a token from a tokenless request under always", async () => {
    const { gate } = await setup();
    expect(await gate.admit(deposit())).toBe(RelayStatus.token_required);
  });

  it("lets a retried envelope through on the token it spent, and no other envelope", async () => {
    const { gate, own, replay } = await setup();
    const token = await mint(own[0]!);
    const first = await tokenCarrier("hpke-key", randomBytes(32));
    const other = await tokenCarrier("hpke-key", randomBytes(32));
    expect(await gate.admit(deposit(token), first)).toBeUndefined();
    expect(await replay.has(first.tag, first.record)).toBe(true);
    // The batch is retried after a failure part way: the same envelope comes again.
    expect(await gate.admit(deposit(token), first)).toBeUndefined();
    expect(await gate.admit(deposit(token), other)).toBe(RelayStatus.token_refused);
    expect(await gate.admit(deposit(token))).toBe(RelayStatus.token_refused);
    // An envelope refused for a spent token leaves no mark that would let it through later.
    expect(await replay.has(other.tag, other.record)).toBe(false);
  });

  it("marks an envelope by a hash of its encapsulated key, never the key itself", async () => {
    const enc = randomBytes(32);
    const mark = await tokenCarrier("k", enc);
    expect(mark.record).not.toEqual(enc);
    expect(mark.record).not.toEqual(await sha256(enc));
    expect(await tokenCarrier("k", enc)).toEqual(mark);
  });

  it("lets the free share through under allowance, then asks for tokens", async () => {
    const { gate, clock, own } = await setup({ requirement: "allowance", freePerMinute: 3 });
    clock.advance(60_000 - (clock.now() % 60_000));
    for (let i = 0; i < 3; i++) expect(await gate.admit(deposit())).toBeUndefined();
    expect(await gate.admit(deposit())).toBe(RelayStatus.token_required);
    expect(await gate.admit(deposit(await mint(own[0]!)))).toBeUndefined();
    clock.advance(60_000);
    expect(await gate.admit(deposit())).toBeUndefined();
  });

  it("looks at nothing when off", async () => {
    const { gate } = await setup({ requirement: "off" });
    expect(await gate.admit(deposit())).toBeUndefined();
    expect(await gate.admit(deposit(randomBytes(40)))).toBeUndefined();
  });
});

describe("TokenGate with a peer issuer", () => {
  const PEER = "https://issuer.example";

  /** A real issuing relay, reached in process through its HTTP app. */
  async function issuer(clock: ReturnType<typeof manualClock>) {
    const config = relayConfig({
      origin: PEER,
      tokens: { ...DEFAULT_TOKENS, issue: { ...DEFAULT_TOKEN_ISSUE, keyLifetimeMs: HOUR } },
    });
    const ports = { ...memoryPorts({ keys: new MemoryKeyStore() }), clock };
    const relay = await Relay.open(config, { ...ports, blindSigner: nodeBlindSigner() });
    await relay.maintain();
    const app = createRelayApp(relay);
    let down = false;
    let fetches = 0;
    const http = (async (input: RequestInfo | URL, init?: RequestInit) => {
      fetches++;
      if (down) throw new TypeError("fetch failed");
      return app.fetch(new Request(input, init));
    }) as typeof fetch;
    return {
      relay,
      http,
      fetches: () => fetches,
      setDown: (value: boolean) => void (down = value),
    };
  }

  async function peerGate() {
    const clock = manualClock(Date.now());
    const peer = await issuer(clock);
    const federation = { ...DEFAULT_FEDERATION, peers: [PEER] };
    const gate = new TokenGate(
      { requirement: "always", freePerMinute: 0, accept: [PEER] },
      ORIGIN,
      new MemoryReplaySet(),
      clock,
      new PeerDirectory(federation, clock, peer.http),
      () => [],
    );
    return { clock, peer, gate };
  }

  it("forgets a key its issuer has withdrawn from its descriptor", async () => {
    const { clock, peer, gate } = await peerGate();
    const key = peer.relay.keyRing.stored.tokens![0]!;
    expect(await gate.admit(deposit(await mint(key, PEER)))).toBeUndefined();

    // The issuer drops the key (it leaked, say) and publishes a descriptor without it.
    const ring = peer.relay.keyRing.stored;
    await peer.relay.ports.keys.save({ ...ring, tokens: [] });
    await peer.relay.reloadKeys();
    clock.advance(10 * 60_000 + 1);
    expect(await gate.admit(deposit(await mint(key, PEER)))).toBe(RelayStatus.token_refused);
  });

  it("takes every one of many first tokens of a peer that arrive at once", async () => {
    const { peer, gate } = await peerGate();
    const key = peer.relay.keyRing.stored.tokens![0]!;
    const tokens = await Promise.all(Array.from({ length: 16 }, () => mint(key, PEER)));
    const outcomes = await Promise.all(tokens.map((t) => gate.admit(deposit(t))));
    expect(outcomes).toEqual(tokens.map(() => undefined));
  });

  it("keeps a peer's keys while it is down, and does not ask it again at every token", async () => {
    const { clock, peer, gate } = await peerGate();
    const key = peer.relay.keyRing.stored.tokens![0]!;
    expect(await gate.admit(deposit(await mint(key, PEER)))).toBeUndefined();
    peer.setDown(true);
    clock.advance(10 * 60_000 + 1);
    // Its cached descriptor has gone stale and cannot be renewed: its known key still counts.
    expect(await gate.admit(deposit(await mint(key, PEER)))).toBeUndefined();
    const before = peer.fetches();
    const stranger = await generateTokenKey(clock.now(), HOUR);
    for (let i = 0; i < 5; i++) {
      expect(await gate.admit(deposit(await mint(stranger, PEER)))).toBe(RelayStatus.token_refused);
    }
    expect(peer.fetches() - before).toBeLessThanOrEqual(1);
  });
});
