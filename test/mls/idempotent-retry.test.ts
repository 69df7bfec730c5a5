/**
 * A send whose deposit fails in transport is saved and retried with the same message id, so the
 * group reads it exactly once: whether the failed attempt never reached the relay, or reached it
 * and only the answer was lost, and whether the retry comes from the same process or from a
 * session restored after a crash.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GroupSession } from "../../src/client/mls/group-session.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, savedForm, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

type Failure = "before" | "after";

/** A fetch that, once armed, fails the next /v1/relay request: before sending it, or after. */
function flakyFetch() {
  let armed: Failure | undefined;
  let failures = 0;
  const doFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const mode = url.pathname === "/v1/relay" ? armed : undefined;
    if (mode) armed = undefined;
    if (mode === "before") {
      failures++;
      throw new TypeError("fetch failed (network down)");
    }
    const response = await fetch(input, init);
    if (mode === "after") {
      failures++;
      throw new TypeError("fetch failed (connection reset)");
    }
    return response;
  };
  return {
    fetch: doFetch,
    arm(mode: Failure) {
      armed = mode;
    },
    get failures() {
      return failures;
    },
  };
}

async function setup() {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const flaky = flakyFetch();
  const aliceClient = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: flaky.fetch,
  });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const saved = new Map<string, string>();
  const deps = (name: string) => ({
    route: async () => (name === "alice" ? aliceClient : client),
    pollMs: 5,
    save: async (json: string) => void saved.set(name, json),
  });
  const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  const items = () =>
    (JSON.parse(relay!.ports.inboxes.snapshot()) as { key: string; items: unknown[] }[]).find(
      (i) => i.key === Buffer.from(alice.currentInboxId).toString("hex"),
    )?.items.length ?? 0;
  return { flaky, alice, bob, saved, deps, items };
}

describe("a send that fails in transport is delivered exactly once", () => {
  it.each<Failure>(["before", "after"])(
    "failure %s the relay got it; the next sync retries",
    async (mode) => {
      const { flaky, alice, bob, items } = await setup();
      flaky.arm(mode);
      await expect(alice.send("exactly once")).rejects.toThrow(TransportError);
      expect(flaky.failures).toBe(1);
      expect(alice.outboxSize).toBe(1);
      expect(items()).toBe(mode === "after" ? 1 : 0);

      expect(await alice.sync()).toEqual([]);
      expect(alice.outboxSize).toBe(0);
      expect(items()).toBe(1);
      expect(texts(await bob.sync())).toEqual(["exactly once"]);
      expect(await bob.sync()).toEqual([]);
      // The next send goes out at once, and later traffic is unaffected.
      await alice.send("next");
      expect(texts(await bob.sync())).toEqual(["next"]);
      expect(items()).toBe(2);
    },
  );

  it.each<Failure>(["before", "after"])(
    "failure %s the relay got it; a session restored from the save retries",
    async (mode) => {
      const { flaky, alice, bob, saved, deps, items } = await setup();
      flaky.arm(mode);
      await expect(alice.send("survives a crash")).rejects.toThrow(TransportError);
      // The process dies here; what it saved holds the sealed deposit and its message id.
      const json = saved.get("alice")!;
      expect(savedForm(alice)["outbox"]).toHaveLength(1);
      const restored = await GroupSession.fromJson(json, deps("alice"));
      expect(restored.outboxSize).toBe(1);
      expect(await restored.sync()).toEqual([]);
      expect(restored.outboxSize).toBe(0);
      expect(items()).toBe(1);
      expect(texts(await bob.sync())).toEqual(["survives a crash"]);
      // The restored session does not read its own message back, and keeps working.
      await bob.send("welcome back");
      expect(texts(await restored.sync())).toEqual(["welcome back"]);
    },
  );

  it("a later send flushes the earlier failed one first, in order", async () => {
    const { flaky, alice, bob, items } = await setup();
    flaky.arm("before");
    await expect(alice.send("first")).rejects.toThrow(TransportError);
    await alice.send("second");
    expect(alice.outboxSize).toBe(0);
    expect(items()).toBe(2);
    expect(texts(await bob.sync())).toEqual(["first", "second"]);
  });
});
