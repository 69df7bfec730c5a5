/**
 * A shaping client's fetch reads on, in its next read slots, while the relay holds more than one
 * cell's answer carries: a reader keeps up with what its contacts send (drop cover included)
 * instead of taking one cell's worth per poll of the app.
 */
import { afterEach, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient, SHAPED_READ_PAGES } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { text, untext } from "../../testkit/text.js";

let relay: TestRelay | undefined;
const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

it(
  "reads every waiting message in one fetch, a cell per read slot, up to SHAPED_READ_PAGES",
  { timeout: 120_000 },
  async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const writer = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    const reader = await RelayClient.connect(relay.url, {
      shaping: { kind: "constant", intervalMs: 20, cellSize: 4096, dropShare: 0 },
    });
    clients.push(writer, reader);
    const inbox = await createInbox(relay.url, reader.descriptor.signingKey);
    const sent = Array.from({ length: 12 }, (_, i) => `message ${i}`);
    for (const m of sent) await writer.deposit(contactCard(inbox), text(m));

    // One 4 KiB answer carries a few items: the first page alone leaves most of them waiting.
    const firstPage = await reader.fetchItems(inbox);
    expect(firstPage.status === "ok" && firstPage.more).toBe(true);
    const perPage = firstPage.status === "ok" ? firstPage.items.length : 0;
    expect(perPage).toBeLessThan(sent.length);

    const before = reader.shapingStats!.real;
    const all = await reader.fetch(inbox);
    expect(all.status).toBe("ok");
    if (all.status !== "ok") return;
    expect(all.messages.map((m) => untext(m.payload))).toEqual(sent);
    expect(all.more).toBe(false);
    // Every page went in a read slot of its own.
    expect(reader.shapingStats!.real - before).toBe(Math.ceil(sent.length / perPage));

    // A reader that does not shape reads one page per call, as before.
    const plain = await writer.fetch(inbox, { bucket: 4096 });
    expect(plain.status === "ok" && plain.messages.length).toBe(perPage);

    // The pages one fetch reads are bounded.
    for (let i = 0; i <= perPage * SHAPED_READ_PAGES; i++)
      await writer.deposit(contactCard(inbox), text("more"));
    const bounded = await reader.fetch(inbox, { afterSeq: all.lastSeq });
    expect(bounded.status === "ok" && bounded.messages.length).toBe(perPage * SHAPED_READ_PAGES);
    expect(bounded.status === "ok" && bounded.more).toBe(true);
  },
);
