/**
 * What a seized SQLite store reveals (DATA_DIR/shroud.db, `shroud serve`'s default): after the
 * same scenarios as the Redis test (metadata-at-rest.test.ts), every row of every table is
 * dumped, and the raw file with its write-ahead log searched, against docs/THREAT-MODEL.md: no
 * time finer than a day, no client address, no payload as deposited (only padded items of
 * bucket sizes), no arrival order among pending deposits, and on an ingress relay no inbox id.
 * The key ring is the one table with millisecond times: its keys' own creation and retirement,
 * as keys.json holds them, never a client's.
 */
import Database from "better-sqlite3";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQLITE_FILE_NAME } from "../../src/adapters/sqlite/sqlite-database.js";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { toHex } from "../../src/protocol/bytes.js";
import { startNodeRelay } from "../../src/node.js";
import { freePort } from "../../testkit/free-port.js";
import { atRestTraffic } from "./at-rest-workload.js";
import { text } from "../../testkit/text.js";

type Row = Record<string, unknown>;

interface Table {
  name: string;
  ddl: string;
  rows: Row[];
}

/** Every table of the file with its definition and rows in storage order (no ORDER BY). */
function dump(path: string): Table[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
      .all()
      .map(({ name, sql }) => ({
        name,
        ddl: sql,
        rows: db.prepare(`SELECT * FROM "${name}"`).all() as Row[],
      }));
  } finally {
    db.close();
  }
}

/** The file and its write-ahead log as bytes: what a disk image holds, free pages included. */
function rawBytes(path: string): Buffer {
  const parts = [readFileSync(path)];
  if (existsSync(`${path}-wal`)) parts.push(readFileSync(`${path}-wal`));
  return Buffer.concat(parts);
}

/** Whether `blob` holds `text` inside a run of at least 8 printable characters, or whole. */
function holdsText(blob: Buffer, text: string): boolean {
  const printable = (byte: number | undefined) => byte !== undefined && byte >= 0x20 && byte < 0x7f;
  for (let at = blob.indexOf(text); at >= 0; at = blob.indexOf(text, at + 1)) {
    let start = at;
    let end = at + text.length;
    while (printable(blob[start - 1])) start--;
    while (printable(blob[end])) end++;
    if (end - start >= 8 || (start === 0 && end === blob.length)) return true;
  }
  return false;
}

const looksLikeTime = (n: number) => n >= 1e9 && n <= 1e13;
const ADDRESSES = ["127.0.0.1", "::1", "localhost", "::ffff:"];

/** Every value of a table as bytes (numbers and text as their decimal and UTF-8 forms). */
function valuesOf(table: Table): Buffer[] {
  return table.rows.flatMap((row) =>
    Object.values(row).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))),
  );
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shroud-at-rest-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("SQLite state at rest", () => {
  it("holds no fine times, no addresses, no raw payloads and no arrival order", async () => {
    const dataDir = join(dir, "relay");
    const relay = await startNodeRelay({
      port: 0,
      embedded: "sqlite",
      dataDir,
      config: { roundIntervalMs: 60_000 },
    });
    const path = join(dataDir, SQLITE_FILE_NAME);
    const sdk = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    try {
      const { plaintexts, pendingIds } = await atRestTraffic(relay, sdk);
      const arrival = pendingIds.map(toHex);

      const tables = dump(path);
      const byName = new Map(tables.map((t) => [t.name, t]));
      // Every table that holds client traffic is keyed, without the row ids SQLite would hand
      // out in arrival order.
      for (const name of [
        "inboxes",
        "inbox_items",
        "inbox_message_ids",
        "round_entries",
        "records",
        "held",
        "claim_slots",
      ]) {
        expect(byName.get(name)?.ddl, name).toMatch(/WITHOUT ROWID\s*$/);
      }

      // No number or text that reads as a time finer than a day, outside the key ring.
      for (const table of tables.filter((t) => t.name !== "key_ring")) {
        for (const row of table.rows) {
          for (const [column, value] of Object.entries(row)) {
            if (typeof value === "number")
              expect(looksLikeTime(value), `${table.name}.${column}`).toBe(false);
            if (typeof value === "string") {
              const runs = value.replace(/[0-9a-f]{32,}/g, "-").match(/\d{10,13}/g) ?? [];
              expect(runs.filter((run) => looksLikeTime(Number(run)))).toEqual([]);
            }
          }
        }
      }

      // Payloads only as padded items of bucket sizes; nothing else holds a size of one message.
      const items = [
        ...byName.get("inbox_items")!.rows.map((r) => r["item"] as Buffer),
        ...byName.get("round_entries")!.rows.map((r) => r["item"] as Buffer),
      ];
      expect(items.length).toBe(20 * 4 - 5 * 2 + 30);
      for (const item of items) expect(sdk.descriptor.buckets).toContain(item.length);

      // The pending round lists its entries by (inbox, message id), never by arrival, and pages
      // by a random sort key (CSPRNG, drawn at add).
      const pending = byName.get("round_entries")!.rows;
      const listed = pending.map((r) => toHex(r["message"] as Buffer));
      expect([...listed].sort()).toEqual([...arrival].sort());
      expect(listed).not.toEqual(arrival);
      const bySort = [...pending]
        .sort((a, b) => Buffer.compare(a["sort"] as Buffer, b["sort"] as Buffer))
        .map((r) => toHex(r["message"] as Buffer));
      expect(bySort).not.toEqual(arrival);

      // No client address and no plaintext: not in any row, nor anywhere in the raw file and
      // its log (deleted rows are zeroed: secure_delete).
      await relay.close();
      const raw = rawBytes(path);
      for (const table of tables) {
        for (const value of valuesOf(table)) {
          for (const address of ADDRESSES) expect(holdsText(value, address)).toBe(false);
        }
      }
      // In the raw bytes only the longer forms: megabytes of ciphertext hold a three-byte "::1"
      // inside eight printable bytes by chance (about one run in 150), while a stored "::1"
      // would be a value of its own, which the rows' check above finds.
      for (const address of ADDRESSES.filter((a) => a.length >= 7)) {
        expect(holdsText(raw, address)).toBe(false);
      }
      for (const plaintext of plaintexts) expect(raw.includes(plaintext)).toBe(false);
      expect(raw.includes("pending ")).toBe(false);
    } finally {
      await relay.close();
    }
  });

  it("an ingress relay holds forwards as opaque slots of one size, never an inbox id", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const urlA = `http://127.0.0.1:${portA}`;
    const urlB = `http://127.0.0.1:${portB}`;
    const dataA = join(dir, "ingress");
    const b = await startNodeRelay({
      port: portB,
      embedded: "sqlite",
      dataDir: join(dir, "egress"),
      config: { roundIntervalMs: 60_000, federation: { peers: [urlA] } },
    });
    const a = await startNodeRelay({
      port: portA,
      embedded: "sqlite",
      dataDir: dataA,
      config: {
        roundIntervalMs: 60_000,
        federation: { peers: [urlB], ingressRelease: "immediate" },
      },
    });
    try {
      const ingress = await RelayClient.connect(urlA, { shaping: ShapingProfiles.off });
      const viaA = await RelayClient.connectVia(urlB, ingress);
      const inboxes: Inbox[] = [];
      for (let i = 0; i < 6; i++) inboxes.push(await createInbox(urlB));
      const messages: string[] = [];
      for (const [i, inbox] of inboxes.entries()) {
        const message = `forwarded secret ${i} ` + "y".repeat(i * 700);
        messages.push(message.slice(0, 30));
        expect((await viaA.deposit(contactCard(inbox), text(message))).status).toBe("forwarded");
      }
      const path = join(dataA, SQLITE_FILE_NAME);
      const held = dump(path);
      const slots = held.find((t) => t.name === "held")!.rows.map((r) => r["slot"] as Buffer);
      expect(slots).toHaveLength(inboxes.length);
      expect(new Set(slots.map((s) => s.length)).size).toBe(1);
      await a.relay.closeRound();
      const flushed = dump(path);
      await a.close();
      const raw = rawBytes(path);
      for (const state of [held, flushed]) {
        for (const table of state.filter((t) => t.name !== "key_ring")) {
          for (const row of table.rows) {
            for (const value of Object.values(row)) {
              if (typeof value === "number") expect(looksLikeTime(value)).toBe(false);
            }
          }
        }
      }
      for (const inbox of inboxes) {
        expect(raw.includes(Buffer.from(inbox.inboxId))).toBe(false);
        expect(raw.includes(toHex(inbox.inboxId))).toBe(false);
      }
      for (const m of messages) expect(raw.includes(m)).toBe(false);
      for (const address of ["127.0.0.2", "::1", "localhost", "::ffff:"]) {
        expect(holdsText(raw, address)).toBe(false);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
