/**
 * Bad input to a Worker relay gets the same opaque answers as on Node and changes nothing:
 * wrong media type, oversized, not a bucket, random bytes of a bucket size, a replayed envelope.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { expiryName, roundName } from "../../src/adapters/workers/object-names.js";
import type { RoundObject } from "../../src/adapters/workers/objects/round-object.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ORIGIN = "http://127.0.0.1:8788";
const post = (body: Uint8Array, type: string = MediaTypes.request) =>
  SELF.fetch(new URL("/v1/relay", ORIGIN), {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
const pending = () =>
  runInDurableObject<RoundObject, number>(
    env.ROUNDS.get(env.ROUNDS.idFromName(roundName("shroud"))),
    (object) => object.pending(),
  );

it("answers bad requests opaquely and stores nothing for them", async () => {
  const before = await pending();
  const cases: [Uint8Array, string, number, string][] = [
    [randomBytes(1024), "text/plain", 415, "unsupported media type"],
    [randomBytes(1000), MediaTypes.request, 400, "bad request"],
    [randomBytes(1024 * 1024 + 1), MediaTypes.request, 413, "too large"],
  ];
  for (const [body, type, status, text] of cases) {
    const response = await post(body, type);
    expect(response.status).toBe(status);
    expect(await response.text()).toBe(text);
  }
  for (let i = 0; i < 20; i++) {
    const response = await post(randomBytes(4096));
    expect([400, 422]).toContain(response.status);
    expect(["bad request", "unknown key"]).toContain(await response.text());
  }
  expect(await pending()).toBe(before);

  // A replayed envelope is refused, and its deposit is not added twice.
  let captured: Uint8Array | undefined;
  const capture: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).pathname === "/v1/relay") {
      captured = new Uint8Array(await request.clone().arrayBuffer());
    }
    return SELF.fetch(request);
  };
  const client = await RelayClient.connect(ORIGIN, {
    shaping: ShapingProfiles.off,
    fetch: capture,
  });
  const inbox = await createInbox(ORIGIN, client.descriptor.signingKey);
  await client.deposit(contactCard(inbox), randomBytes(10));
  expect(await pending()).toBe(before + 1);
  const replay = await post(captured!);
  expect(replay.status).toBe(400);
  expect(await replay.text()).toBe("bad request");
  expect(await pending()).toBe(before + 1);

  // A made-up write token names another inbox (the id commits to the token): the deposit is
  // taken there, and the real inbox cannot be locked by it.
  const index = env.EXPIRY.get(env.EXPIRY.idFromName(expiryName("shroud")));
  const notes = await index.due(Number.MAX_SAFE_INTEGER, 1000);
  expect(notes).toContain(toHex(inbox.inboxId));
  const squat = { ...contactCard(inbox), writeToken: SecretBytes.random(32) };
  expect(await client.deposit(squat, randomBytes(10))).toMatchObject({ status: "accepted" });
  const added = (await index.due(Number.MAX_SAFE_INTEGER, 1000)).filter((n) => !notes.includes(n));
  expect(added).toHaveLength(1);
  expect(added).not.toContain(toHex(inbox.inboxId));
  expect(await client.deposit(contactCard(inbox), randomBytes(10))).toMatchObject({
    status: "accepted",
  });
  expect(await pending()).toBe(before + 3);
});
