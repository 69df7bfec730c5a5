/**
 * The relay end to end inside workerd, over the Worker's own fetch handler: deposit, the round
 * object's alarm closing the round, fetch, ack; every body a bucket.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { roundName } from "../../src/adapters/workers/object-names.js";
import type { RoundObject } from "../../src/adapters/workers/objects/round-object.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ORIGIN = "http://127.0.0.1:8788";
const padding = new PaddingPolicy();

/** Every request and response body length that crossed the Worker's fetch handler. */
const sizes: { request: number; response: number; path: string }[] = [];

const http: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const body =
    request.method === "POST" ? new Uint8Array(await request.clone().arrayBuffer()) : undefined;
  const response = await SELF.fetch(request);
  const answer = new Uint8Array(await response.arrayBuffer());
  sizes.push({
    request: body?.length ?? 0,
    response: answer.length,
    path: new URL(request.url).pathname,
  });
  return new Response(answer, { status: response.status, headers: response.headers });
};

const round = () => env.ROUNDS.get(env.ROUNDS.idFromName(roundName("shroud")));
const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

describe("relay over HTTP in workerd", () => {
  it("deposits, closes the round by alarm, fetches and acks; bodies are buckets", async () => {
    const client = await RelayClient.connect(ORIGIN, { shaping: ShapingProfiles.off, fetch: http });
    const inbox = await createInbox(ORIGIN, client.descriptor.signingKey);
    const card = contactCard(inbox);
    for (const message of ["one", "two", "three"]) {
      expect(await client.deposit(card, text(message))).toEqual({
        status: "accepted",
        duplicate: false,
      });
    }
    // Accepted into the open round: invisible until it closes.
    const early = await client.fetch(inbox);
    expect(early.status === "ok" && early.messages).toEqual([]);
    const pending = await runInDurableObject<RoundObject, number>(round(), (object) =>
      object.pending(),
    );
    expect(pending).toBe(3);

    expect(await runDurableObjectAlarm(round())).toBe(true);
    const fetched = await client.fetch(inbox);
    expect(fetched.status).toBe("ok");
    if (fetched.status !== "ok") return;
    expect(fetched.messages.map((m) => untext(m.payload)).sort()).toEqual(["one", "three", "two"]);
    expect(fetched.messages.map((m) => m.seq).sort()).toEqual([1, 2, 3]);
    expect(await client.ack(inbox, fetched.lastSeq)).toEqual({ status: "ok", removed: 3 });
    const again = await client.fetch(inbox);
    expect(again.status === "ok" && again.messages).toEqual([]);

    // The alarm set the next one: rounds go on without any request.
    expect(
      await runInDurableObject(round(), (_, state) => state.storage.getAlarm()),
    ).not.toBeNull();

    const relayBodies = sizes.filter((s) => s.path === "/v1/relay");
    expect(relayBodies.length).toBeGreaterThanOrEqual(7);
    for (const { request, response } of relayBodies) {
      expect(padding.isBucket(request)).toBe(true);
      expect(padding.isBucket(response)).toBe(true);
    }
  });
});
