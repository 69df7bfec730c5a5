/**
 * A committer adopts the state its own commit made only when the item it reads is that commit
 * byte for byte: another member copying the pending commit's message id onto a commit of its own
 * must not make the committer adopt a state every other member rejects (a forked group).
 */
import { describe, expect, it } from "vitest";
import { isPendingCommit } from "../../src/client/mls/commit-race.js";
import { epochInbox } from "../../src/client/mls/epoch-inbox.js";
import { newGroupState } from "../../src/client/mls/initial-state.js";
import type { SessionState } from "../../src/client/mls/session-context.js";

const RELAY = "https://relay.test";

async function pendingGroup() {
  const state = await newGroupState("alice");
  const reading = { ...(await epochInbox(state, RELAY)), cursor: 0 };
  const messageId = new Uint8Array(16).fill(7);
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
  const group: SessionState = {
    name: "friends",
    relay: RELAY,
    removed: false,
    state,
    readings: [reading],
    sent: [],
    buffered: [],
    outbox: [],
    pending: { messageId, payloads, newState: new Uint8Array(0), welcome: [], invitations: [] },
    events: [],
    pendingSent: true,
    consumedOnWin: [],
  };
  return { group, reading, messageId, payloads };
}

describe("recognising one's own pending commit", () => {
  it("matches the same message id with the same deposits", async () => {
    const { group, reading, messageId, payloads } = await pendingGroup();
    const message = { messageId, mlsMessage: new Uint8Array(0) };
    expect(
      isPendingCommit(
        group,
        reading,
        message,
        payloads.map((p) => p.slice()),
      ),
    ).toBe(true);
  });

  it("rejects the message id on other deposits, fewer deposits or another id", async () => {
    const { group, reading, messageId, payloads } = await pendingGroup();
    const message = { messageId, mlsMessage: new Uint8Array(0) };
    const altered = [payloads[0]!, new Uint8Array([4, 6])];
    expect(isPendingCommit(group, reading, message, altered)).toBe(false);
    expect(isPendingCommit(group, reading, message, [payloads[0]!])).toBe(false);
    const other = { messageId: new Uint8Array(16).fill(8), mlsMessage: new Uint8Array(0) };
    expect(isPendingCommit(group, reading, other, payloads)).toBe(false);
  });

  it("matches nothing without a pending commit or in an older epoch's inbox", async () => {
    const { group, reading, messageId, payloads } = await pendingGroup();
    const message = { messageId, mlsMessage: new Uint8Array(0) };
    expect(isPendingCommit(group, { ...reading, epoch: -1n }, message, payloads)).toBe(false);
    group.pending = undefined;
    expect(isPendingCommit(group, reading, message, payloads)).toBe(false);
  });
});
