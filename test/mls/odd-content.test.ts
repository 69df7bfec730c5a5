/**
 * Valid MLS content that is not text must not break a member: a binary message (send accepts
 * bytes) and a member whose basic credential is not UTF-8 (ts-mls accepts any credential, and
 * another client can make such a key package).
 */
import { defaultCapabilities, defaultLifetime, encodeMlsMessage, generateKeyPackage } from "ts-mls";
import { afterEach, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { mlsSuite } from "../../src/client/mls/mls-suite.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function setup() {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
  return { client, sessions: sessions as [GroupSession, GroupSession] };
}

it("a binary message is delivered as bytes, and the member goes on reading", async () => {
  const { sessions } = await setup();
  const [alice, bob] = sessions;
  const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3]);
  await alice.send(binary);
  await alice.send("text after");
  const events = await bob.sync();
  expect(events).toHaveLength(2);
  const [first] = events;
  if (first?.kind !== "message") throw new Error(`got ${first?.kind}`);
  expect(hex(first.data)).toBe(hex(binary));
  expect(typeof first.text).toBe("string");
  expect(texts(events.slice(1))).toEqual(["text after"]);
  expect(await bob.sync()).toEqual([]);
});

it("a member whose credential is not UTF-8 can be added without wedging the others", async () => {
  const { client, sessions } = await setup();
  const [alice, bob] = sessions;
  const odd = await generateKeyPackage(
    { credentialType: "basic", identity: new Uint8Array([0xff, 0x6f, 0x64, 0x64]) },
    defaultCapabilities(),
    defaultLifetime,
    [],
    await mlsSuite(),
  );
  const encoded = encodeMlsMessage({
    version: "mls10",
    wireformat: "mls_key_package",
    keyPackage: odd.publicPackage,
  });
  const inbox = await createInbox(client.origin);
  const card = { ...contactCard(inbox), keyPackages: [encoded] };
  expect(await alice.change({ add: [card] })).toMatchObject({ status: "committed" });
  expect(alice.members).toHaveLength(3);
  const events = await bob.sync();
  expect(events).toMatchObject([{ kind: "commit", epoch: alice.epoch }]);
  expect(bob.epoch).toBe(alice.epoch);
  expect(hex(bob.treeHash)).toBe(hex(alice.treeHash));
  expect(bob.members).toHaveLength(3);
  await bob.send("still talking");
  expect(texts(await alice.sync())).toEqual(["still talking"]);
});
