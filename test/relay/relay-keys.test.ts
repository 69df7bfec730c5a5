import { describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { toHex } from "../../src/protocol/bytes.js";
import { createRelayApp } from "../../src/relay/app.js";
import { KEY_DELETE_GRACE_MS, keyTag } from "../../src/relay/key-ring.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { manualClock } from "../../testkit/manual-clock.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ORIGIN = "http://relay.test";
const HOUR = 3600_000;

function inProcessFetch(relay: Relay, captured: Uint8Array[] = []): typeof fetch {
  const app = createRelayApp(relay);
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (init?.body instanceof Uint8Array) captured.push(new Uint8Array(init.body));
    return app.fetch(new Request(input, init));
  }) as typeof fetch;
}

describe("relay keys", () => {
  it("rotates its HPKE key by itself and deletes the old one after the overlap", async () => {
    const clock = manualClock();
    const ports = memoryPorts({ clock });
    const relay = await Relay.open(
      relayConfig({ origin: ORIGIN, keyRotationMs: 10 * HOUR, keyOverlapMs: 2 * HOUR }),
      ports,
    );
    const first = relay.keyRing.stored.hpke[0]!;
    clock.advance(9 * HOUR);
    await relay.maintain();
    expect(relay.keyRing.stored.hpke).toHaveLength(1);
    clock.advance(1 * HOUR);
    await relay.maintain();
    expect(relay.keyRing.stored.hpke).toHaveLength(2);
    expect((await ports.keys.load())!.hpke).toHaveLength(2);
    clock.advance(2 * HOUR);
    await relay.maintain();
    // Retired at the end of the overlap: refused and unpublished, deleted after the grace.
    expect(relay.keyRing.lookup(first.keyId, clock.now())).toBeUndefined();
    expect(relay.keyRing.published(clock.now(), 0)).toHaveLength(1);
    clock.advance(KEY_DELETE_GRACE_MS);
    await relay.maintain();
    const left = relay.keyRing.stored.hpke;
    expect(left).toHaveLength(1);
    expect(toHex(left[0]!.publicKey)).not.toBe(toHex(first.publicKey));
    expect(relay.keyRing.stored.signing.publicKey).toEqual(
      (await ports.keys.load())!.signing.publicKey,
    );
  });

  it("on a volatile replay set, a restart retires old HPKE keys so old envelopes cannot be replayed", async () => {
    const keys = new MemoryKeyStore();
    const before = await Relay.open(relayConfig({ origin: ORIGIN }), memoryPorts({ keys }));
    let target = before;
    const captured: Uint8Array[] = [];
    const viaTarget = (async (input: RequestInfo | URL, init?: RequestInit) =>
      inProcessFetch(target, captured)(input, init)) as typeof fetch;
    const client = await RelayClient.connect(ORIGIN, {
      shaping: ShapingProfiles.off,
      fetch: viaTarget,
    });
    const inbox = await createInbox(ORIGIN);
    expect((await client.deposit(contactCard(inbox), new Uint8Array([1]))).status).toBe("accepted");
    const signing = before.keyRing.stored.signing.publicKey;

    const after = await Relay.open(relayConfig({ origin: ORIGIN }), memoryPorts({ keys }));
    target = after;
    expect(after.keyRing.stored.signing.publicKey).toEqual(signing);
    const oldKey = before.keyRing.stored.hpke[0]!;
    expect(after.keyRing.lookup(oldKey.keyId, Date.now())?.tag).not.toBe(keyTag(oldKey));
    expect(
      after.keyRing.published(Date.now(), 0).map((k) => toHex(k.config.publicKey)),
    ).not.toContain(toHex(oldKey.publicKey));
    const replay = await createRelayApp(after).fetch(
      new Request(`${ORIGIN}/v1/relay`, {
        method: "POST",
        headers: { "content-type": MediaTypes.request },
        body: new Uint8Array(captured[0]!),
      }),
    );
    expect(replay.status).toBe(422);
    // The client still holds the old descriptor: it gets 422, refreshes (same signing key) and
    // succeeds with the new HPKE key.
    expect((await client.deposit(contactCard(inbox), new Uint8Array([2]))).status).toBe("accepted");
    expect(toHex(client.descriptor.keys[0]!.config.publicKey)).toBe(
      toHex(after.keyRing.stored.hpke.at(-1)!.publicKey),
    );
  });
});
