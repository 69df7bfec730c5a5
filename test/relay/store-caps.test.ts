/**
 * Caps on what a store holds. The embedded store holds everything in the process's memory: it
 * grew without bound (a flood of deposits to new inboxes ran the heap out after ~1.2M deposits,
 * and the process died with every inbox in it); now it answers `quota` at its caps and keeps
 * serving. The Redis store caps its inbox count the same way (Redis's maxmemory bounds bytes).
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let running: RunningRelay | undefined;
let redis: RedisFixture | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function start(limits: { maxInboxes?: number; maxBytes?: number }) {
  const ports = memoryPorts({ inboxes: limits });
  running = await startNodeRelay({ port: 0, ports, config: { roundIntervalMs: 0 } });
  const client = await RelayClient.connect(running.url, { shaping: ShapingProfiles.off });
  return { ports, client };
}

it("refuses deposits to new inboxes at the inbox cap; existing inboxes still take deposits", async () => {
  const { ports, client } = await start({ maxInboxes: 5 });
  const inboxes = await Promise.all(Array.from({ length: 6 }, () => createInbox(client.origin)));
  for (const inbox of inboxes.slice(0, 5)) {
    expect((await client.deposit(contactCard(inbox), randomBytes(10))).status).toBe("accepted");
  }
  expect((await client.deposit(contactCard(inboxes[5]!), randomBytes(10))).status).toBe("quota");
  expect(ports.inboxes.size.inboxes).toBe(5);
  expect((await client.deposit(contactCard(inboxes[0]!), randomBytes(10))).status).toBe("accepted");
  const fetched = await client.fetch(inboxes[0]!);
  expect(fetched.status === "ok" && fetched.messages.length).toBe(2);
});

it("refuses every deposit once the stored bytes reach the byte cap, and takes them again after an ack", async () => {
  const { ports, client } = await start({ maxBytes: 8 * 1024 });
  const inbox = await createInbox(client.origin);
  const card = contactCard(inbox);
  const answers: string[] = [];
  for (let i = 0; i < 12; i++) answers.push((await client.deposit(card, randomBytes(10))).status);
  // Each item is a 1 KiB bucket: 8 fit, then the store is full.
  expect(answers.filter((a) => a === "accepted")).toHaveLength(8);
  expect(answers.slice(8)).toEqual(["quota", "quota", "quota", "quota"]);
  expect(ports.inboxes.size.bytes).toBe(8 * 1024);
  const other = await createInbox(client.origin);
  expect((await client.deposit(contactCard(other), randomBytes(10))).status).toBe("quota");
  const fetched = await client.fetch(inbox);
  if (fetched.status !== "ok") throw new Error(fetched.status);
  expect(await client.ack(inbox, fetched.lastSeq)).toEqual({ status: "ok", removed: 8 });
  expect((await client.deposit(card, randomBytes(10))).status).toBe("accepted");
});

it("Redis: refuses deposits to new inboxes once it holds maxInboxes, and keeps serving the others", async () => {
  running = await startNodeRelay({
    port: 0,
    redis: {
      url: redis!.url,
      prefix: uniquePrefix(),
      masterKey: SecretBytes.random(32),
      maxInboxes: 4,
    },
    config: { roundIntervalMs: 0 },
  });
  const client = await RelayClient.connect(running.url, { shaping: ShapingProfiles.off });
  const inboxes = await Promise.all(Array.from({ length: 5 }, () => createInbox(client.origin)));
  for (const inbox of inboxes.slice(0, 4)) {
    expect((await client.deposit(contactCard(inbox), randomBytes(10))).status).toBe("accepted");
  }
  // The store reads its inbox count at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  expect((await client.deposit(contactCard(inboxes[4]!), randomBytes(10))).status).toBe("quota");
  expect((await client.fetch(inboxes[4]!)).status).toBe("not_found");
  expect((await client.deposit(contactCard(inboxes[0]!), randomBytes(10))).status).toBe("accepted");
  const fetched = await client.fetch(inboxes[0]!);
  expect(fetched.status === "ok" && fetched.messages.length).toBe(2);
});
