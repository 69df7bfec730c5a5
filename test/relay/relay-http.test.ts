import { request as httpRequest } from "node:http";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes, toBase64Url, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { TooLargeError } from "../../src/protocol/errors.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import { MAX_FRAGMENTS } from "../../src/client/fragment.js";
import { keyConfigListCodec } from "../../src/protocol/key-config.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { openResponse, REQUEST_OVERHEAD, sealRequest } from "../../src/protocol/envelope.js";
import { RequestKind, relayRequestCodec } from "../../src/protocol/relay-request.js";
import { relayResponseCodec } from "../../src/protocol/relay-response.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { KEY_DELETE_GRACE_MS, rotateKeyRing } from "../../src/relay/key-ring.js";
import { MS_PER_DAY } from "../../src/relay/ports/clock.js";
import { manualClock } from "../../testkit/manual-clock.js";
import { recordingFetch, type Exchange } from "../../testkit/recording-fetch.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { text, untext } from "../../testkit/text.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function setup(
  config: Parameters<typeof startTestRelay>[0] = {},
  clock?: ReturnType<typeof manualClock>,
) {
  relay = await startTestRelay(config, clock);
  const exchanges: Exchange[] = [];
  const client = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: recordingFetch(exchanges),
    ...(clock ? { now: clock.now } : {}),
  });
  const inbox = await createInbox(relay.url, client.descriptor.signingKey);
  return { relay, client, inbox, card: contactCard(inbox), exchanges };
}

function post(url: string, body: Uint8Array, type: string = MediaTypes.request) {
  return fetch(new URL("/v1/relay", url), {
    method: "POST",
    headers: { "content-type": type },
    body: new Uint8Array(body),
  });
}

async function messagesOf(client: RelayClient, inbox: Inbox): Promise<string[]> {
  const result = await client.fetchAll(inbox);
  if (result.status !== "ok") throw new Error(`fetch failed: ${result.status}`);
  return result.messages.map((m) => untext(m.payload));
}

describe("relay over HTTP", () => {
  it("deposit -> round close -> fetch -> ack", async () => {
    const { relay, client, inbox, card } = await setup();
    expect(await client.deposit(card, text("one"))).toEqual({
      status: "accepted",
      duplicate: false,
    });
    expect(await client.deposit(card, text("two"))).toEqual({
      status: "accepted",
      duplicate: false,
    });
    // The inbox exists (the first deposit created it) but nothing is visible before the close.
    expect(await messagesOf(client, inbox)).toEqual([]);
    await relay.relay.closeRound();
    expect((await messagesOf(client, inbox)).sort()).toEqual(["one", "two"]);
    const fetched = await client.fetch(inbox);
    expect(fetched.status === "ok" && fetched.lastSeq).toBe(2);
    expect(await client.ack(inbox, 2)).toEqual({ status: "ok", removed: 2 });
    expect(await messagesOf(client, inbox)).toEqual([]);
    expect(relay.logs).toEqual([]);
  });

  it("pads every request and response body to a bucket", async () => {
    const { relay, client, inbox, card, exchanges } = await setup();
    const buckets = client.descriptor.buckets;
    await client.deposit(card, text("short"));
    await client.deposit(card, randomBytes(3000));
    await client.deposit(card, randomBytes(100_000));
    await client.deposit({ ...card, writeToken: SecretBytes.random(32) }, text("x"));
    await relay.relay.closeRound();
    await client.fetchAll(inbox);
    await client.ack(inbox, 1);
    await client.cover();
    await client.cover(buckets[2]);
    expect(exchanges.length).toBeGreaterThanOrEqual(8);
    for (const e of exchanges) {
      expect(e.status).toBe(200);
      expect(buckets).toContain(e.requestLength);
      expect(buckets).toContain(e.responseLength);
    }
    const sizes = new Set(exchanges.map((e) => e.requestLength));
    expect(sizes.size).toBeGreaterThan(1);
  });

  it("cannot be squatted: a made-up write token names another inbox, the owner's stays open", async () => {
    const { relay, client, inbox, card } = await setup();
    // A card holder (or anyone who learnt the read id) deposits first with a token of its own,
    // as "first write token wins" once let it lock the inbox for everyone else.
    const squatter = { ...card, writeToken: SecretBytes.random(32) };
    expect((await client.deposit(squatter, text("squat"))).status).toBe("accepted");
    expect((await client.deposit(card, text("mine"))).status).toBe("accepted");
    await relay.relay.closeRound();
    expect(await messagesOf(client, inbox)).toEqual(["mine"]);
    // The squatter wrote to an inbox of its own making, which the owner never sees.
    expect((await client.deposit(card, text("still mine"))).status).toBe("accepted");
    await relay.relay.closeRound();
    expect(await messagesOf(client, inbox)).toEqual(["mine", "still mine"]);
  });

  it("refuses a replayed envelope with an opaque 400 and changes nothing", async () => {
    const { relay, client, inbox, card, exchanges } = await setup();
    await client.deposit(card, text("once"));
    const sealed = exchanges[0]!.requestBody!;
    const before = relay.snapshot();
    const replay = await post(relay.url, sealed);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toBe("bad request");
    expect(relay.snapshot()).toBe(before);
    await relay.relay.closeRound();
    expect(await messagesOf(client, inbox)).toEqual(["once"]);
  });

  it("treats a retried message id as one deposit", async () => {
    const { relay, client, inbox, card } = await setup();
    const messageId = randomBytes(16);
    expect(await client.deposit(card, text("m"), { messageId })).toEqual({
      status: "accepted",
      duplicate: false,
    });
    expect(await client.deposit(card, text("m"), { messageId })).toEqual({
      status: "accepted",
      duplicate: true,
    });
    await relay.relay.closeRound();
    expect(await client.deposit(card, text("m"), { messageId })).toEqual({
      status: "accepted",
      duplicate: true,
    });
    await relay.relay.closeRound();
    expect(await messagesOf(client, inbox)).toEqual(["m"]);
  });

  it("answers 422 for an unknown key id, 415 for a wrong type, 400 for non-buckets and garbage", async () => {
    const { relay, client, card, exchanges } = await setup();
    await client.deposit(card, text("x"));
    const sealed = exchanges[0]!.requestBody!.slice();
    const held = relay.relay.keyRing.stored.hpke.map((k) => k.keyId);
    sealed[0] = [...Array(256).keys()].find((id) => !held.includes(id))!;
    const before = relay.snapshot();
    const unknown = await post(relay.url, sealed);
    expect(unknown.status).toBe(422);
    expect(await unknown.text()).toBe("unknown key");
    expect((await post(relay.url, sealed, "text/plain")).status).toBe(415);
    expect((await post(relay.url, randomBytes(1000))).status).toBe(400);
    const garbageBody = randomBytes(1024);
    garbageBody[0] = held[0]!;
    const garbage = await post(relay.url, garbageBody);
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toBe("bad request");
    expect(relay.snapshot()).toBe(before);
  });

  it("answers 413 from the Content-Length alone, before the body is sent", async () => {
    const { relay } = await setup();
    const url = new URL("/v1/relay", relay.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: "POST",
          headers: {
            "content-type": MediaTypes.request,
            "content-length": String(64 * 1024 * 1024),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", reject);
      // Send only a sliver of the announced 64 MiB: the answer must not wait for the rest.
      req.write(new Uint8Array(1024));
    });
    expect(status).toBe(413);
    const oversize = await post(relay.url, new Uint8Array(relay.relay.config.padding.largest + 1));
    expect(oversize.status).toBe(413);
  });

  it("sends a message too big for the largest bucket as fragments, which arrive whole", async () => {
    const { relay, client, card, inbox } = await setup();
    const big = randomBytes(client.descriptor.buckets.at(-1)! + 1000);
    expect(await client.deposit(card, big)).toEqual({ status: "accepted", duplicate: false });
    await relay.relay.closeRound();
    const got = await client.fetchAll(inbox);
    if (got.status !== "ok") throw new Error(got.status);
    expect(got.messages.map((m) => m.payload)).toEqual([big]);
  });

  it("refuses a message that would need more than MAX_FRAGMENTS before sending anything", async () => {
    const { client, card, exchanges } = await setup({
      padding: new PaddingPolicy([1024, 4096]),
    });
    const tooBig = new Uint8Array(MAX_FRAGMENTS * 4096);
    await expect(client.deposit(card, tooBig)).rejects.toThrow(TooLargeError);
    expect(exchanges).toEqual([]);
  });

  it("publishes the key configs in the application/ohttp-keys form", async () => {
    const { client, relay } = await setup();
    const res = await fetch(new URL("/.well-known/ohttp-keys", relay.url));
    expect(res.headers.get("content-type")).toBe(MediaTypes.ohttpKeys);
    const list = decode(keyConfigListCodec, new Uint8Array(await res.arrayBuffer()));
    expect(list.map((c) => toHex(c.publicKey))).toEqual(
      client.descriptor.keys.map((k) => toHex(k.config.publicKey)),
    );
  });

  it("fetches items larger than the fetch bucket by moving up a bucket", async () => {
    const { relay, client, inbox, card } = await setup();
    const big = randomBytes(100_000);
    await client.deposit(card, text("small 1"));
    await client.deposit(card, big);
    await client.deposit(card, text("small 2"));
    await relay.relay.closeRound();
    const result = await client.fetchAll(inbox);
    expect(result.status).toBe("ok");
    if (result.status !== "ok") return;
    expect(result.messages).toHaveLength(3);
    expect(result.messages.some((m) => toHex(m.payload) === toHex(big))).toBe(true);
    expect(result.more).toBe(false);
  });

  it("refuses a response larger than its request (no amplification)", async () => {
    const { relay, client } = await setup();
    const padding = relay.relay.config.padding;
    const config = client.descriptor.keys[0]!.config;
    const request = encode(relayRequestCodec, { kind: RequestKind.cover, responseSize: 64 * 1024 });
    const { sealed, keying } = await sealRequest(config, padding.pad(request, REQUEST_OVERHEAD));
    expect(sealed.length).toBe(1024);
    const res = await post(relay.url, sealed);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.length).toBe(1024);
    const answer = decode(relayResponseCodec, padding.unpad(await openResponse(keying, body)));
    expect(answer.status).toBe(RelayStatus.bad_request);
  });

  it("enforces the per-inbox item quota", async () => {
    const { relay, client, inbox, card } = await setup({
      quota: { maxItems: 3, maxBytes: 1 << 20 },
    });
    for (let i = 0; i < 3; i++)
      expect((await client.deposit(card, text(`m${i}`))).status).toBe("accepted");
    expect(await client.deposit(card, text("over"))).toEqual({ status: "quota" });
    await relay.relay.closeRound();
    expect(await client.deposit(card, text("over"))).toEqual({ status: "quota" });
    await client.ack(inbox, 3);
    expect((await client.deposit(card, text("after ack"))).status).toBe("accepted");
  });

  it("refuses a deposit with any flag bit set (v1's commit flag is gone) and stores nothing", async () => {
    const { relay, client, inbox, card } = await setup();
    const before = relay.snapshot();
    const padding = relay.relay.config.padding;
    const request = encode(relayRequestCodec, {
      kind: RequestKind.deposit,
      responseSize: 1024,
      readId: card.readId,
      writeToken: card.writeToken.expose(),
      messageId: randomBytes(16),
      flags: 0x01,
      payload: randomBytes(100),
    });
    const config = client.descriptor.keys[0]!.config;
    const { sealed, keying } = await sealRequest(config, padding.pad(request, REQUEST_OVERHEAD));
    const body = new Uint8Array(await (await post(relay.url, sealed)).arrayBuffer());
    const answer = decode(relayResponseCodec, padding.unpad(await openResponse(keying, body)));
    expect(answer.status).toBe(RelayStatus.bad_request);
    await relay.relay.closeRound();
    expect(relay.snapshot()).toBe(before);
    expect((await client.fetch(inbox)).status).toBe("not_found");
  });

  it("enforces the per-inbox byte quota", async () => {
    const { client, card } = await setup({ quota: { maxItems: 100, maxBytes: 10_000 } });
    expect((await client.deposit(card, randomBytes(3000))).status).toBe("accepted");
    expect((await client.deposit(card, randomBytes(3000))).status).toBe("accepted");
    expect(await client.deposit(card, randomBytes(3000))).toEqual({ status: "quota" });
  });

  it("appends a round in shuffled order, not arrival order", async () => {
    const { relay, client, inbox, card } = await setup();
    const n = 40;
    for (let i = 0; i < n; i++) await client.deposit(card, text(String(i)));
    expect(await messagesOf(client, inbox)).toEqual([]);
    await relay.relay.closeRound();
    const order = (await messagesOf(client, inbox)).map(Number);
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    // 1 in 40! chance of a false failure.
    expect(order).not.toEqual([...Array(n).keys()]);
  });

  it("closes rounds on its own timer", async () => {
    const { client, inbox, card } = await setup({ roundIntervalMs: 50 });
    await client.deposit(card, text("timed"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await messagesOf(client, inbox)).toEqual(["timed"]);
  });

  it("reports an unknown inbox as not_found", async () => {
    const { client } = await setup();
    const stranger = await createInbox(client.origin);
    expect(await client.fetch(stranger)).toEqual({ status: "not_found" });
    expect(await client.ack(stranger, 1)).toEqual({ status: "not_found" });
  });

  it("serves a verifiable descriptor with a randomised cache lifetime", async () => {
    const { relay, client } = await setup();
    expect(client.descriptor.origin).toBe(relay.url);
    expect(client.descriptor.buckets).toEqual([...relay.relay.config.padding.buckets]);
    const ages = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(new URL("/.well-known/shroud", relay.url));
      expect(res.headers.get("content-type")).toBe(MediaTypes.descriptor);
      const age = Number(/max-age=(\d+)/.exec(res.headers.get("cache-control") ?? "")![1]);
      expect(age).toBeGreaterThanOrEqual(300);
      expect(age).toBeLessThanOrEqual(900);
      ages.add(age);
    }
    expect(ages.size).toBeGreaterThan(1);
    expect(await (await fetch(new URL("/healthz", relay.url))).text()).toBe("ok");
  });

  it("follows a key rotation: old key refused after its overlap, deleted after a grace", async () => {
    const clock = manualClock();
    const { relay, client, inbox, card, exchanges } = await setup({ keyOverlapMs: 60_000 }, clock);
    await client.deposit(card, text("before"));
    const oldId = client.descriptor.keys[0]!.config.keyId;
    const oldTag = relay.relay.keyRing.lookup(oldId, clock.now())!.tag;
    const { ring } = await rotateKeyRing((await relay.ports.keys.load())!, clock.now(), 60_000);
    await relay.ports.keys.save(ring);
    await relay.relay.maintain();
    // During the overlap the old key still opens requests.
    expect((await client.deposit(card, text("overlap"))).status).toBe("accepted");
    const underOldKey = exchanges.at(-1)!.requestBody!;
    clock.advance(61_000);
    await relay.relay.maintain();
    // Retired: refused at once (422), but kept with its replay records for the grace period.
    expect(relay.relay.keyRing.lookup(oldId, clock.now())).toBeUndefined();
    expect(relay.relay.keyRing.stored.hpke).toHaveLength(2);
    const refused = await post(relay.url, underOldKey);
    expect(refused.status).toBe(422);
    // The client still holds the old descriptor: the relay answers 422 and the client refreshes.
    expect((await client.deposit(card, text("after"))).status).toBe("accepted");
    const newId = client.descriptor.keys[0]!.config.keyId;
    expect(relay.relay.keyRing.lookup(newId, clock.now())!.tag).not.toBe(oldTag);
    expect(client.descriptor.keys).toHaveLength(1);
    clock.advance(KEY_DELETE_GRACE_MS);
    await relay.relay.maintain();
    expect(relay.relay.keyRing.stored.hpke).toHaveLength(1);
    expect(relay.ports.replay.size()).toBe(1);
    await relay.relay.closeRound();
    expect((await messagesOf(client, inbox)).sort()).toEqual(["after", "before", "overlap"]);
  });

  it("expires items and idle inboxes by whole days", async () => {
    const clock = manualClock();
    const { relay, client, inbox, card } = await setup({ retentionDays: 2 }, clock);
    await client.deposit(card, text("old"));
    await relay.relay.closeRound();
    clock.advance(2 * MS_PER_DAY);
    await relay.relay.maintain();
    expect(await messagesOf(client, inbox)).toEqual(["old"]);
    clock.advance(2 * MS_PER_DAY);
    await relay.relay.maintain();
    expect(await client.fetch(inbox)).toEqual({ status: "not_found" });
  });

  it("keeps secrets out of JSON, strings and inspect output", async () => {
    const { relay, inbox } = await setup();
    const secrets = [inbox.readSecret, inbox.writeToken, inbox.privateKey].map((s) => s.expose());
    const ring = relay.relay.keyRing.stored;
    secrets.push(ring.signing.privateKeyPkcs8.expose(), ring.hpke[0]!.privateKey.expose());
    const outputs = [
      JSON.stringify(inbox),
      inspect(inbox, { depth: 5 }),
      String(inbox.readSecret),
      JSON.stringify(ring),
      inspect(ring, { depth: 5 }),
    ];
    for (const out of outputs) {
      for (const secret of secrets) {
        expect(out).not.toContain(toHex(secret));
        expect(out).not.toContain(toBase64Url(secret));
      }
      expect(out).toContain("[secret]");
    }
  });
});
