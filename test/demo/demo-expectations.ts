/**
 * What every run of the demo must show, whatever the backend: the scenario's checks held, the
 * group's inbox changed every epoch and lived only at A, traffic crossed both relays the way
 * the scenario routes it, every request body was a bucket size, and nothing an operator saw or
 * stored names a member, the group or its id.
 */
import { expect } from "vitest";
import type { DemoResult } from "../../src/demo/demo-scenario.js";
import type { OperatorEvent } from "../../src/demo/operator-recorder.js";
import { DEFAULT_BUCKETS } from "../../src/protocol/padding-policy.js";

export const NAMES = ["alice", "bob", "carol"];

const opened = (events: OperatorEvent[]) =>
  new Set(events.flatMap((e) => (e.kind === "opened" ? [e.request] : [])));

const inboxesIn = (events: OperatorEvent[]) =>
  new Set(
    events.flatMap((e) =>
      e.kind === "round" ? e.items.map((i) => i.inbox) : "inbox" in e ? [e.inbox] : [],
    ),
  );

export function expectDemo(result: DemoResult, backend: "memory" | "redis"): void {
  expect(result.backend).toBe(backend);
  expect(result.lines.at(-1)).toMatch(/^demo passed: \d+ checks in [\d.]+ s/);
  expect(result.steps.map((s) => s.title)).toHaveLength(8);
  for (const expected of [
    "alice's commit won epoch 0",
    "exactly one commit won; the other was superseded",
    "all three converge: epoch 2, one tree hash, one inbox",
    "relay A stored both commits as two items, like any deposit: it decided nothing",
    "carol's sync reports that alice removed her",
    "carol's sync returns none of the later messages",
    "carol can no longer send to the group",
    "every item a member fetched opened under its epoch's key",
  ]) {
    expect(result.checks).toContain(expected);
  }
  expect(result.checks.filter((c) => / read /.test(c))).toEqual([
    "alice read bob and carol",
    "bob read alice and carol",
    "carol read alice and bob",
    "alice read bob",
    "bob read alice",
  ]);

  // The inbox changed every epoch; A held each one, B none of them.
  expect(result.epochInboxes.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
  const epochIds = result.epochInboxes.map((e) => e.inboxId);
  expect(new Set(epochIds).size).toBe(4);
  const atA = inboxesIn(result.events.A);
  const atB = inboxesIn(result.events.B);
  for (const id of epochIds) {
    expect(atA.has(id)).toBe(true);
    expect(atB.has(id)).toBe(false);
  }

  // Members on both relays, traffic via the other one: alice's messages forwarded by B in a
  // batch, her commits and fetches proxied to A; bob's and carol's personal inboxes read at B
  // through A; the Welcomes deposited at B.
  expect(opened(result.events.B)).toEqual(
    new Set(["peer_descriptor", "forward", "proxy", "deposit", "fetch", "ack"]),
  );
  expect([...opened(result.events.A)]).toEqual(
    expect.arrayContaining(["peer_descriptor", "proxy", "deposit", "fetch", "forwarded_deposit"]),
  );
  expect(result.events.B.some((e) => e.kind === "held")).toBe(true);
  expect(result.events.A.some((e) => e.kind === "http-out" && e.what === "proxy")).toBe(true);
  expect(result.events.B.some((e) => e.kind === "http-out" && e.what === "proxy")).toBe(true);
  const welcomes = result.events.B.filter((e) => e.kind === "round").flatMap((e) => e.items);
  expect(welcomes).toHaveLength(2);

  // Every request body (and answer) at both relays was a bucket size; batches were one size.
  for (const events of [result.events.A, result.events.B]) {
    const posts = events.filter((e) => e.kind === "http-in" && e.path === "/v1/relay");
    expect(posts.length).toBeGreaterThan(10);
    for (const e of posts) {
      if (e.kind !== "http-in") continue;
      expect(DEFAULT_BUCKETS).toContain(e.bytes);
      expect(DEFAULT_BUCKETS).toContain(e.answerBytes);
      expect(e.status).toBe(200);
    }
    const batches = events.filter((e) => e.kind === "http-in" && e.path === "/v1/federation");
    expect(batches.length).toBeGreaterThan(0);
    expect(new Set(batches.map((e) => (e.kind === "http-in" ? e.bytes : 0))).size).toBe(1);
    // The relays log nothing but, at most, that the other provider's relay did not answer a
    // batch for a moment (on Redis a delivery can race the other relay's shutdown): a line
    // that names the peer's origin and nothing of a client.
    const peerLine =
      /^shroud: (warn: federation peer unreachable; retrying|federation peer reachable again) \(peer=http:\/\/[\d.:]+\)$/;
    expect(events.filter((e) => e.kind === "log" && !peerLine.test(e.message))).toEqual([]);
  }

  // Neither the operator views nor the events behind them name a member, the group or its id.
  const views = result.steps
    .flatMap((s) => [...s.operators.A, ...s.operators.B])
    .join("\n")
    .toLowerCase();
  const events = JSON.stringify(result.events).toLowerCase();
  for (const text of [views, events]) {
    for (const secret of [...NAMES, "hiking-club", result.groupId]) {
      expect(text).not.toContain(secret);
    }
  }
  expect(views).toMatch(/round \d+: [0-9a-f]{6}\+\d/);

  // Stored state was searched at both relays, and nothing turned up.
  expect(result.stateSearches.map((s) => s.relay)).toEqual(["A", "B"]);
  for (const search of result.stateSearches) {
    expect(search.bytes).toBeGreaterThan(0);
    expect(search.searched).toEqual(
      expect.arrayContaining(['"alice"', '"bob"', '"carol"', "the MLS group id"]),
    );
    expect(search.found).toEqual([]);
  }
}
