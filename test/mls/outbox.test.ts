/**
 * The outbox on its own, against a stub relay: entries leave in order, each removal is saved, a
 * definite refusal drops its entry (reported as unreadable, since retrying would not help) and a
 * transport failure stops the flush with that entry and the rest still queued.
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

function entry(n: number): OutboxEntry {
  return {
    relay: RELAY,
    readId: new Uint8Array(32).fill(n),
    writeToken: new SecretBytes(new Uint8Array(32).fill(n)),
    messageId: new Uint8Array(16).fill(n),
    payload: new Uint8Array([n]),
  };
}

/** A session context whose relay answers each deposit with the next of `answers`. */
async function context(entries: OutboxEntry[], answers: DepositResult["status"][]) {
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
  it("delivers in order, saves after each entry and reports a refused one once", async () => {
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
    expect(saves).toHaveLength(3);
    expect((await savedGroupFromJson(saves[0]!)).outbox).toHaveLength(2);
  });

  it("stops at a transport failure, keeping that entry and the ones after it", async () => {
    const { ctx, deposited } = await context(
      [entry(1), entry(2), entry(3)],
      ["accepted", "unavailable"],
    );
    await expect(flushOutbox(ctx)).rejects.toBeInstanceOf(TransportError);
    expect(deposited).toEqual([1, 2]);
    expect(ctx.group.outbox.map((e) => e.payload[0])).toEqual([2, 3]);
    expect(ctx.group.events).toEqual([]);
    // The next flush sends the same entries again, with their message ids.
    await flushOutbox(ctx);
    expect(deposited).toEqual([1, 2, 2, 3]);
    expect(ctx.group.outbox).toEqual([]);
  });
});
