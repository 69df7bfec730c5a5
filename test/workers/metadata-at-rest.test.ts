/**
 * What a Worker relay keeps at rest, read straight from the SQLite storage of every Durable
 * Object it used: stored items are whole buckets; no value is a time finer than a day (no
 * number near now in milliseconds or seconds); no client-chosen plaintext appears anywhere.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import {
  expiryName,
  federationName,
  inboxName,
  keyRingName,
  metricsName,
  replayName,
  roundName,
} from "../../src/adapters/workers/object-names.js";
import { REPLAY_SHARDS } from "../../src/adapters/workers/ports/durable-replay-set.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { toHex } from "../../src/protocol/bytes.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ORIGIN = "http://127.0.0.1:8788";
const http: typeof fetch = (input, init) => SELF.fetch(new Request(input, init));

type Row = Record<string, unknown>;

/** Every user table of an object's SQLite storage, whole. */
async function dump<T extends Rpc.DurableObjectBranded>(
  ns: DurableObjectNamespace<T>,
  name: string,
): Promise<Map<string, Row[]>> {
  const stub = ns.get(ns.idFromName(name));
  return runInDurableObject(stub, (_, state) => {
    const tables = new Map<string, Row[]>();
    const names = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((r) => r.name)
      .filter((n) => !n.startsWith("_cf_") && !n.startsWith("sqlite_"));
    for (const table of names) {
      tables.set(table, state.storage.sql.exec(`SELECT * FROM "${table}"`).toArray());
    }
    return tables;
  });
}

it("keeps bucket-sized items and no fine times, addresses or plaintext", async () => {
  const client = await RelayClient.connect(ORIGIN, { shaping: ShapingProfiles.off, fetch: http });
  const inbox = await createInbox(ORIGIN, client.descriptor.signingKey);
  const secret = "a sentence the relay must never store in the clear";
  for (let i = 0; i < 3; i++) {
    await client.deposit(contactCard(inbox), new TextEncoder().encode(`${secret} ${i}`));
  }
  const round = env.ROUNDS.get(env.ROUNDS.idFromName(roundName("shroud")));
  await runDurableObjectAlarm(round);
  // Let the Worker's waitUntil metric flush land.
  await SELF.fetch(new URL("/healthz", ORIGIN));

  const objects: [string, () => Promise<Map<string, Row[]>>][] = [
    ["inbox", () => dump(env.INBOXES, inboxName("shroud", toHex(inbox.inboxId)))],
    ["round", () => dump(env.ROUNDS, roundName("shroud"))],
    ["expiry", () => dump(env.EXPIRY, expiryName("shroud"))],
    ["keys", () => dump(env.KEYRING, keyRingName("shroud"))],
    ["metrics", () => dump(env.METRICS, metricsName("shroud"))],
    ["federation", () => dump(env.FEDERATION, federationName("shroud"))],
    ...Array.from(
      { length: REPLAY_SHARDS },
      (_, i) =>
        [`replay ${i}`, () => dump(env.REPLAY, replayName("shroud", i))] as [
          string,
          () => Promise<Map<string, Row[]>>,
        ],
    ),
  ];
  const now = Date.now();
  const nearNow = (n: number) =>
    Math.abs(n - now) < 2 * 86_400_000 || Math.abs(n - now / 1000) < 2 * 86_400;
  const needle = new TextEncoder().encode("never store");
  const padding = new PaddingPolicy();
  let items = 0;
  for (const [label, tables] of objects) {
    for (const [table, rows] of await tables()) {
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          const where = `${label}.${table}.${column}`;
          if (typeof value === "number") expect(nearNow(value), where).toBe(false);
          if (typeof value === "string") {
            expect(value, where).not.toContain("127.0.0.1:");
            expect(value, where).not.toContain("never store");
          }
          if (value instanceof ArrayBuffer) {
            const bytes = new Uint8Array(value);
            const text = new TextDecoder("latin1").decode(bytes);
            expect(text.includes(new TextDecoder("latin1").decode(needle)), where).toBe(false);
          }
        }
        if (label === "inbox" && table === "items") {
          items++;
          expect(padding.isBucket((row["item"] as ArrayBuffer).byteLength)).toBe(true);
        }
      }
    }
  }
  expect(items).toBe(3);
});
