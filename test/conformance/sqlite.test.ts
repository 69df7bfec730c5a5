/**
 * The SQLite store (src/adapters/sqlite) against the shared port suite, plus what is its own:
 * the embedded caps read against totals kept in the file, every call one transaction (a call
 * that fails leaves the file as it was), and state that outlives the connection.
 */
import Database from "better-sqlite3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sqlitePorts, type SqlitePorts } from "../../src/adapters/sqlite/sqlite-ports.js";
import { SQLITE_FILE_NAME } from "../../src/adapters/sqlite/sqlite-database.js";
import { SchemaVersionError } from "../../src/adapters/sql/schema-migrations.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { CapacityError } from "../../src/relay/errors.js";
import { generateKeyRing } from "../../src/relay/key-ring.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import { describePortConformance } from "./port-conformance.js";

const dirs: string[] = [];
const opened: SqlitePorts[] = [];
afterAll(async () => {
  for (const ports of opened) await ports.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "shroud-sqlite-"));
  dirs.push(dir);
  return join(dir, "data");
}

function open(dir: string, options: Omit<Parameters<typeof sqlitePorts>[0], "dataDir"> = {}) {
  const ports = sqlitePorts({ dataDir: dir, ...options });
  opened.push(ports);
  return ports;
}

describePortConformance("sqlite", async () => open(await dataDir()), {
  capped: async (maxInboxes) => open(await dataDir(), { inboxes: { maxInboxes } }),
});

const DAY = 20_000;
const quota = { stored: { items: 0, bytes: 0 }, maxItems: 100, maxBytes: 1 << 20 };
const entry = (inboxId: Uint8Array, size = 64): RoundEntry => ({
  inboxId,
  messageId: randomBytes(16),
  item: randomBytes(size),
});

/** Every row of every table of the file, for "changed nothing" checks. */
function dump(ports: SqlitePorts): string {
  const db = new Database(ports.path, { readonly: true });
  try {
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
      .all();
    return JSON.stringify(
      tables.map(({ name }) => [
        name,
        (
          db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all() as Record<string, unknown>[]
        ).map((row) =>
          Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString("hex") : v]),
        ),
      ]),
    );
  } finally {
    db.close();
  }
}

describe("sqlite: caps of the embedded store", () => {
  it("refuses new inboxes at maxInboxes and every deposit at maxBytes, changing nothing", async () => {
    const ports = open(await dataDir(), { inboxes: { maxInboxes: 2, maxBytes: 256 } });
    const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    expect(await ports.inboxes.admit(a, randomBytes(16), DAY)).toMatchObject({ created: true });
    expect(await ports.inboxes.admit(b, randomBytes(16), DAY)).toMatchObject({ created: true });
    const before = dump(ports);
    expect(await ports.inboxes.admit(c, randomBytes(16), DAY)).toBe("full");
    expect(dump(ports)).toBe(before);
    await ports.inboxes.appendRound([entry(a, 128), entry(a, 128)], DAY);
    expect(ports.inboxes.size).toEqual({ inboxes: 2, bytes: 256 });
    expect(await ports.inboxes.admit(a, randomBytes(16), DAY)).toBe("full");
    await ports.inboxes.ack(a, 1);
    expect(ports.inboxes.size).toEqual({ inboxes: 2, bytes: 128 });
    expect(await ports.inboxes.admit(a, randomBytes(16), DAY)).toMatchObject({ created: false });
    // Expiry gives back the inbox and its bytes.
    await ports.inboxes.expire(DAY + 1);
    expect(ports.inboxes.size).toEqual({ inboxes: 0, bytes: 0 });
    expect(await ports.inboxes.admit(c, randomBytes(16), DAY)).toMatchObject({ created: true });
  });

  it("answers quota past maxPendingBytes with nothing added, and frees the bytes on release", async () => {
    const ports = open(await dataDir(), { pool: { maxPendingBytes: 200 } });
    const inbox = randomBytes(32);
    expect(await ports.pool.add(entry(inbox, 100), quota)).toBe("added");
    expect(await ports.pool.add(entry(inbox, 100), quota)).toBe("added");
    const before = dump(ports);
    expect(await ports.pool.add(entry(inbox, 1), quota)).toBe("quota");
    expect(dump(ports)).toBe(before);
    expect(ports.pool.pendingBytes).toBe(200);
    const round = (await ports.pool.close())!;
    const page = await ports.pool.page(round, { entries: 1, bytes: 1 << 20 });
    expect(await ports.pool.release(round, page)).toBe(false);
    // Releasing the same page again frees nothing twice.
    expect(await ports.pool.release(round, page)).toBe(false);
    expect(ports.pool.pendingBytes).toBe(100);
    expect(await ports.pool.add(entry(inbox, 100), quota)).toBe("added");
  });

  it("refuses a new replay record at maxRecords and counts forgotten ones out", async () => {
    const ports = open(await dataDir(), { replay: { maxRecords: 2 } });
    const [x, y, z] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    expect(await ports.replay.add("k1", x)).toBe(true);
    expect(await ports.replay.add("k2", y)).toBe(true);
    await expect(ports.replay.add("k1", z)).rejects.toBeInstanceOf(CapacityError);
    expect(await ports.replay.add("k1", x)).toBe(false);
    expect(await ports.replay.has("k1", z)).toBe(false);
    await ports.replay.forget("k1");
    expect(ports.replay.size()).toBe(1);
    expect(await ports.replay.add("k1", z)).toBe(true);
  });
});

describe("sqlite: one transaction per call", () => {
  it("an append that fails half way appends nothing", async () => {
    const ports = open(await dataDir());
    const inbox = randomBytes(32);
    await ports.inboxes.admit(inbox, randomBytes(16), DAY);
    const before = dump(ports);
    // A message id of the wrong type fails at the second entry, after the first was written.
    const bad = { ...entry(inbox), messageId: { not: "bytes" } as unknown as Uint8Array };
    await expect(ports.inboxes.appendRound([entry(inbox), bad], DAY)).rejects.toThrow();
    expect(dump(ports)).toBe(before);
    expect(await ports.inboxes.usage(inbox)).toEqual({ items: 0, bytes: 0 });
  });
});

describe("sqlite: a closer that fails part-way", () => {
  it("leaves its round to the next process's closer, which delivers the rest exactly once", async () => {
    const dir = await dataDir();
    const first = open(dir);
    const inboxes = Array.from({ length: 6 }, () => randomBytes(32));
    const entries = inboxes.flatMap((inbox) => Array.from({ length: 5 }, () => entry(inbox)));
    for (const inbox of inboxes) await first.inboxes.admit(inbox, randomBytes(16), DAY + 7);
    for (const e of entries) {
      const stored = await first.inboxes.usage(e.inboxId);
      expect(await first.pool.add(e, { ...quota, stored })).toBe("added");
    }
    // The first closer appends three inboxes' entries, then dies.
    const append = first.inboxes.appendRound.bind(first.inboxes);
    first.inboxes.appendRound = async (page, day) => {
      const three = [...new Set(page.map((e) => toHex(e.inboxId)))].slice(0, 3);
      await append(
        page.filter((e) => three.includes(toHex(e.inboxId))),
        day,
      );
      throw new Error("simulated crash");
    };
    const closerOf = (ports: SqlitePorts) =>
      new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7);
    await expect(closerOf(first).close()).rejects.toThrow("simulated crash");
    await first.close();

    const second = open(dir);
    expect(await second.pool.unreleased()).toHaveLength(1);
    await closerOf(second).close();
    await closerOf(second).close();
    for (const inbox of inboxes) {
      const page = await second.inboxes.fetch(inbox, 0, 100);
      const sent = entries
        .filter((e) => toHex(e.inboxId) === toHex(inbox))
        .map((e) => toHex(e.item));
      expect(page!.items.map((i) => toHex(i.item)).sort()).toEqual(sent.sort());
      expect(page!.items.map((i) => i.seq)).toEqual([1, 2, 3, 4, 5]);
    }
    expect(await second.pool.unreleased()).toEqual([]);
    expect(second.pool.pendingBytes).toBe(0);
  });
});

describe("sqlite: what outlives the connection", () => {
  it("finds inboxes, pending and closed rounds, replay records and keys after a reopen", async () => {
    const dir = await dataDir();
    const first = open(dir);
    const inbox = randomBytes(32);
    await first.inboxes.admit(inbox, randomBytes(16), DAY);
    const delivered = entry(inbox);
    await first.inboxes.appendRound([delivered], DAY);
    const closed = entry(inbox);
    expect(await first.pool.add(closed, quota)).toBe("added");
    const round = (await first.pool.close())!;
    const open2 = entry(inbox);
    expect(await first.pool.add(open2, quota)).toBe("added");
    const enc = randomBytes(32);
    await first.replay.add("key", enc);
    const ring = await first.keys.create(await generateKeyRing(Date.now()));
    await first.close();

    const second = open(dir);
    expect((await second.inboxes.fetch(inbox, 0, 10))?.items.map((i) => toHex(i.item))).toEqual([
      toHex(delivered.item),
    ]);
    expect(await second.pool.unreleased()).toEqual([round]);
    expect(
      (await second.pool.page(round, { entries: 10, bytes: 1 << 20 })).map((e) => toHex(e.item)),
    ).toEqual([toHex(closed.item)]);
    expect(await second.pool.add(open2, quota)).toBe("duplicate");
    expect(await second.replay.has("key", enc)).toBe(true);
    expect(second.replay.durable).toBe(true);
    expect(toHex((await second.keys.load())!.signing.publicKey)).toBe(
      toHex(ring.signing.publicKey),
    );
    expect(second.pool.pendingBytes).toBe(128);
  });

  it("carries aggregate metrics on across a reopen, buffered counts included", async () => {
    const dir = await dataDir();
    const first = open(dir);
    first.metrics.count(MetricName.requests, { kind: "deposit", status: "ok" }, 3);
    first.metrics.observe(MetricName.roundSize, 5);
    await first.metrics.flush();
    first.metrics.count(MetricName.requests, { kind: "deposit", status: "ok" });
    expect(first.metrics.counter(MetricName.requests, { kind: "deposit", status: "ok" })).toBe(4);
    await first.close();
    const second = open(dir);
    expect(second.metrics.counter(MetricName.requests, { kind: "deposit", status: "ok" })).toBe(4);
    expect(second.metrics.render()).toContain("shroud_round_size_count 1\n");
  });

  it("refuses a file at a newer schema version than it knows, writing nothing", async () => {
    const dir = await dataDir();
    await open(dir).close();
    const db = new Database(join(dir, SQLITE_FILE_NAME));
    db.prepare("UPDATE schema_version SET version = 99").run();
    db.close();
    expect(() => sqlitePorts({ dataDir: dir })).toThrow(SchemaVersionError);
    const again = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    expect(again.prepare("SELECT version FROM schema_version").get()).toEqual({ version: 99 });
    again.close();
  });
});
