/**
 * The outbox on its own, against a stub relay: entries for one inbox leave in order, entries for
 * different inboxes at once (up to 32 inboxes), the flush is saved once, a definite refusal drops
 * its entry (reported as unreadable, since retrying would not help) and a transport failure stops
 * the flush with that entry and the rest of its inbox's still queued.
 */
import { describe, expect, it } from "vitest";
import { epochInbox } from "../../src/client/mls/epoch-inbox.js";
import { savedGroupFromJson, type OutboxEntry } from "../../src/client/mls/group-record.js";
import { newGroupState } from "../../src/client/mls/initial-state.js";
import { flushOutbox } from "../../src/client/mls/outbox.js";
import type { SessionContext } from "../../src/client/mls/session-context.js";
import type { DepositResult, RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";

const RELAY = "https://relay.test";

/** Entry `n` (its payload and message id say n), for inbox `inbox` (default: its own). */
function entry(n: number, inbox = n): OutboxEntry {
  return {
    relay: RELAY,
    readId: new Uint8Array(32).fill(inbox),
    writeToken: new SecretBytes(new Uint8Array(32).fill(n)),
    messageId: new Uint8Array(16).fill(n),
    payload: new Uint8Array([n]),
  };
}

/** A session context whose relay answers each deposit with the next of `answers`. */
async function context(
  entries: OutboxEntry[],
  answers: DepositResult["status"][],
  /** Awaited before each answer (to hold deposits in flight). */
  gate: () => Promise<void> = async () => {},
) {
  const state = await newGroupState("alice");
  const deposited: number[] = [];
  const saves: string[] = [];
  const client = {
    depositPayload: async (
      _target: unknown,
      payload: Uint8Array,
      options: { messageId: Uint8Array },
    ) => {
      expect(options.messageId[0]).toBe(payload[0]);
      deposited.push(payload[0]!);
      await gate();
      const status = answers.shift() ?? "accepted";
      return (status === "accepted" ? { status, duplicate: false } : { status }) as DepositResult;
    },
  } as unknown as RelayClient;
  const ctx: SessionContext = {
    group: {
      name: "friends",
      relay: RELAY,
      removed: false,
      state,
      readings: [{ ...(await epochInbox(state, RELAY)), cursor: 0 }],
      sent: [],
      buffered: [],
      outbox: entries,
      events: [],
      pendingSent: false,
      consumedOnWin: [],
    },
    deps: {
      route: async () => client,
      save: async (json) => {
        saves.push(json);
      },
    },
    watches: new Map(),
  };
  return { ctx, deposited, saves };
}

describe("outbox", () => {
  it("delivers in order, saves once at the end and reports a refused one once", async () => {
    const { ctx, deposited, saves } = await context(
      [entry(1), entry(2), entry(3)],
      ["accepted", "quota", "forwarded"],
    );
    await flushOutbox(ctx);
    expect(deposited).toEqual([1, 2, 3]);
    expect(ctx.group.outbox).toEqual([]);
    expect(ctx.group.events).toEqual([
      { kind: "unreadable", reason: "a deposit was refused (quota)" },
    ]);
    expect(saves).toHaveLength(1);
    const saved = await savedGroupFromJson(saves[0]!);
    expect(saved.outbox).toHaveLength(0);
    expect(saved.events).toHaveLength(1);
  });

  it("stops at a transport failure, keeping that entry and the ones after it", async () => {
    const { ctx, deposited, saves } = await context(
      [entry(1), entry(2, 9), entry(3, 9)],
      ["accepted", "unavailable"],
    );
    await expect(flushOutbox(ctx)).rejects.toBeInstanceOf(TransportError);
    expect(deposited).toEqual([1, 2]);
    expect(ctx.group.outbox.map((e) => e.payload[0])).toEqual([2, 3]);
    expect(ctx.group.events).toEqual([]);
    // What was delivered before the failure is saved as gone.
    expect(saves).toHaveLength(1);
    expect((await savedGroupFromJson(saves[0]!)).outbox.map((e) => e.payload[0])).toEqual([2, 3]);
    // The next flush sends the same entries again, with their message ids.
    await flushOutbox(ctx);
    expect(deposited).toEqual([1, 2, 2, 3]);
    expect(ctx.group.outbox).toEqual([]);
  });

  it("has up to 32 inboxes' deposits in flight at once, each inbox's in order", async () => {
    let inFlight = 0;
    let most = 0;
    const gate = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
    };
    // 100 invitations to 100 inboxes, and a three-fragment message to inbox 200.
    const entries = [
      ...Array.from({ length: 100 }, (_, i) => entry(i + 1)),
      entry(101, 200),
      entry(102, 200),
      entry(103, 200),
    ];
    const { ctx, deposited } = await context(entries, [], gate);
    await flushOutbox(ctx);
    expect(most).toBe(32);
    expect(deposited.filter((n) => n > 100)).toEqual([101, 102, 103]);
    expect(deposited.sort((a, b) => a - b)).toHaveLength(103);
    expect(ctx.group.outbox).toEqual([]);
  });
});
