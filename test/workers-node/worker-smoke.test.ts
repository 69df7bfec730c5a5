/**
 * The Worker served by wrangler's local runtime, reached from Node over loopback HTTP like any
 * relay: descriptor, a deposit, the round closing by itself (alarm), fetch.
 */
import { afterAll, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startWorkerRelay, type WorkerRelay } from "../../testkit/worker-relay.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let worker: WorkerRelay | undefined;
afterAll(async () => {
  await worker?.close();
  await worker?.remove();
});

it("serves a Worker relay on loopback that Node clients use like any relay", async () => {
  worker = await startWorkerRelay({ roundMs: 200 });
  const client = await RelayClient.connect(worker.url, { shaping: ShapingProfiles.off });
  const inbox = await createInbox(worker.url, client.descriptor.signingKey);
  expect(await client.deposit(contactCard(inbox), new TextEncoder().encode("hi"))).toEqual({
    status: "accepted",
    duplicate: false,
  });
  const deadline = Date.now() + 10_000;
  let texts: string[] = [];
  while (texts.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fetched = await client.fetch(inbox);
    if (fetched.status === "ok")
      texts = fetched.messages.map((m) => new TextDecoder().decode(m.payload));
  }
  expect(texts).toEqual(["hi"]);
  expect(await worker.counter('shroud_requests_total{kind="deposit",status="accepted"}')).toBe(1);
}, 60_000);
