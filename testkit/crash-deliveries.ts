/**
 * The deposits of the crash-safety tests and their check, shared by every backend's: items
 * deposited by concurrent workers through a ResilientClient (each retried under its own message
 * id while the relay is killed and restarted), then every inbox read back and each deposit
 * required exactly once.
 */
import { expect } from "vitest";
import { contactCard, createInbox, type Inbox } from "../src/client/inbox.js";
import type { DepositResult } from "../src/client/relay-client.js";
import { randomBytes, utf8 } from "../src/protocol/bytes.js";
import { randomInt, tally, type ResilientClient } from "./resilient-client.js";
import { sleep } from "./wait.js";

/** One deposit to make: its inbox, its text and the message id its retries keep. */
export interface CrashItem {
  inbox: Inbox;
  text: string;
  messageId: Uint8Array;
}

/**
 * `perInbox` items for each of `inboxes` fresh inboxes on `origin`, texts `<tag>-<n>` padded
 * with `size` more characters.
 *
 * @example const { boxes, items } = await makeItems(relay.url, "kill", 4, 25);
 */
export async function makeItems(
  origin: string,
  tag: string,
  inboxes: number,
  perInbox: number,
  size = 0,
): Promise<{ boxes: Inbox[]; items: CrashItem[] }> {
  const boxes = await Promise.all(Array.from({ length: inboxes }, () => createInbox(origin)));
  const items: CrashItem[] = [];
  for (let n = 0; n < inboxes * perInbox; n++) {
    const text = `${tag}-${n}` + (size ? ` ${"z".repeat(size)}` : "");
    items.push({ inbox: boxes[n % inboxes]!, text, messageId: randomBytes(16) });
  }
  return { boxes, items };
}

/**
 * Deposits every item with `concurrency` workers, each retried with its own message id; each
 * worker pauses `pauseMs` (a random [min, max]) between deposits.
 */
export async function depositAll(
  client: ResilientClient,
  items: readonly CrashItem[],
  concurrency: number,
  pauseMs?: [number, number],
): Promise<DepositResult[]> {
  const results: DepositResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const { inbox, text, messageId } = items[i]!;
      results[i] = await client.deposit(contactCard(inbox), utf8(text), messageId);
      if (pauseMs) await sleep(randomInt(...pauseMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/**
 * Fetches every inbox until it holds what was deposited to it (or `timeoutMs` pass) and checks
 * that each deposit arrived exactly once, nothing else did, and seqs run 1..n with no gap.
 */
export async function expectDeliveredOnce(
  client: ResilientClient,
  boxes: readonly Inbox[],
  items: readonly CrashItem[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const inbox of boxes) {
    const sent = items.filter((item) => item.inbox === inbox).map((item) => item.text);
    let got = await client.fetchAll(inbox);
    while (got.length < sent.length && Date.now() < deadline) {
      await sleep(50);
      got = await client.fetchAll(inbox);
    }
    const counts = tally(got.map((m) => m.text));
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...counts.keys()].sort()).toEqual([...sent].sort());
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  }
}
