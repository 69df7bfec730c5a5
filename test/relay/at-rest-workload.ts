/**
 * The traffic both metadata-at-rest tests (Redis, SQLite) leave in a relay's store before they
 * dump it: 20 inboxes with delivered items of many sizes (some fetched and acked), then a pending
 * round of 30 deposits into one inbox in an order the test knows.
 */
import { expect } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import type { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { RunningRelay } from "../../src/node.js";
import { text } from "../../testkit/text.js";

export interface AtRestTraffic {
  inboxes: Inbox[];
  /** The first 40 characters of every delivered message, to look for in the dump. */
  plaintexts: string[];
  /** The inbox the pending round is for, and its deposits' message ids in arrival order. */
  pendingInbox: Inbox;
  pendingIds: Uint8Array[];
}

export async function atRestTraffic(relay: RunningRelay, sdk: RelayClient): Promise<AtRestTraffic> {
  const inboxes: Inbox[] = [];
  const plaintexts: string[] = [];
  for (let i = 0; i < 20; i++) inboxes.push(await createInbox(relay.url));
  // Delivered items of several sizes, some fetched and acked.
  for (const [i, inbox] of inboxes.entries()) {
    for (let j = 0; j < 4; j++) {
      const message = `secret message ${i}/${j} ` + "x".repeat((i * 397 + j * 1013) % 5000);
      plaintexts.push(message.slice(0, 40));
      expect((await sdk.deposit(contactCard(inbox), text(message))).status).toBe("accepted");
    }
  }
  await relay.relay.closeRound();
  for (const inbox of inboxes.slice(0, 5)) await sdk.ack(inbox, 2);
  const pendingInbox = inboxes[7]!;
  const pendingIds: Uint8Array[] = [];
  for (let k = 0; k < 30; k++) {
    const messageId = randomBytes(16);
    pendingIds.push(messageId);
    await sdk.deposit(contactCard(pendingInbox), text(`pending ${k}`), { messageId });
  }
  await relay.relay.maintain();
  return { inboxes, plaintexts, pendingInbox, pendingIds };
}
