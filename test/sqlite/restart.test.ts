/**
 * `shroud serve` restarted on its default store (the SQLite file in its data directory) picks
 * up where it stopped: inboxes, pending deposits and forwards held for a peer are all there, and
 * it keeps its HPKE key, so a client holding the descriptor from before the restart still
 * deposits (the in-memory store renews the key at every start, and such a client gets 422).
 * Needs `npm run build` (the CLI runs from dist/).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { freePort } from "../../testkit/free-port.js";
import {
  killAllRelays,
  requireBuiltCli,
  startRelayProcess,
  type RelayProcessOptions,
} from "../../testkit/relay-process.js";
import { descriptorKeys } from "../../testkit/resilient-client.js";
import { text, untext } from "../../testkit/text.js";
import { waitFor } from "../../testkit/wait.js";
import { poolState } from "./support.js";

describe("a relay restarted on the SQLite store", () => {
  let dir: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "shroud-sqlite-restart-"));
  });

  afterAll(async () => {
    killAllRelays();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loses nothing mid-conversation and keeps its HPKE key for clients that cached it", async () => {
    const dataDir = join(dir, "relay");
    // Rounds long enough that a deposit waits in the open round when the relay dies.
    const options: RelayProcessOptions = {
      port: await freePort(),
      roundMs: 60_000,
      args: ["--data", dataDir],
    };
    let relay = await startRelayProcess(options);
    const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    const before = descriptorKeys(client.descriptor);
    const inbox = await createInbox(relay.url);
    const card = contactCard(inbox);
    for (const message of ["one", "two"]) {
      expect((await client.deposit(card, text(message))).status).toBe("accepted");
    }
    // SIGTERM delivers the open round; the next start finds it in the inbox.
    await relay.stop();
    relay = await startRelayProcess(options);
    const read = await client.fetch(inbox);
    if (read.status !== "ok") throw new Error(`fetch answered ${read.status}`);
    // A round delivers its deposits in a random order.
    expect(read.messages.map((m) => untext(m.payload)).sort()).toEqual(["one", "two"]);
    const kept = untext(read.messages.find((m) => m.seq === 2)!.payload);
    expect((await client.ack(inbox, 1)).status).toBe("ok");
    // Acknowledged and then lost with the process: still there after a SIGKILL.
    expect((await client.deposit(card, text("three"))).status).toBe("accepted");
    expect(poolState(dataDir).open).toBe(1);
    await relay.kill();
    relay = await startRelayProcess(options);

    // The client still holds the first descriptor, HPKE key included: its deposit opens.
    expect((await client.deposit(card, text("four"))).status).toBe("accepted");
    const fresh = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    expect(descriptorKeys(fresh.descriptor)).toEqual(before);
    await relay.stop(); // delivers "three" (left in the open round) and "four"
    relay = await startRelayProcess(options);
    const all = await client.fetchAll(inbox, 1);
    expect(all.status === "ok" && all.messages.map((m) => untext(m.payload)).sort()).toEqual(
      [kept, "three", "four"].sort(),
    );
    expect(all.status === "ok" && all.messages.map((m) => m.seq)).toEqual([2, 3, 4]);
    await relay.stop();
  }, 120_000);

  it("takes over the identity of a data directory the in-memory store used", async () => {
    const dataDir = join(dir, "upgraded");
    const port = await freePort();
    const before = await startRelayProcess({
      port,
      roundMs: 100,
      args: ["--data", dataDir, "--store", "memory"],
    });
    const old = descriptorKeys(
      (await RelayClient.connect(before.url, { shaping: ShapingProfiles.off })).descriptor,
    );
    await before.stop();
    const after = await startRelayProcess({ port, roundMs: 100, args: ["--data", dataDir] });
    const now = descriptorKeys(
      (await RelayClient.connect(after.url, { shaping: ShapingProfiles.off })).descriptor,
    );
    // The same signing key (the relay's identity); a fresh HPKE key, since the old one's replay
    // records died with the in-memory store.
    expect(now.signing).toBe(old.signing);
    expect(now.hpke).toHaveLength(1);
    expect(old.hpke).not.toContain(now.hpke[0]);
    await after.stop();
  }, 60_000);

  it("keeps forwards for a peer that is down across its own restart, and delivers them", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const urlA = `http://127.0.0.1:${portA}`;
    const urlB = `http://127.0.0.1:${portB}`;
    // Quick retries, so B is reached soon after it is back.
    const a: RelayProcessOptions = {
      port: portA,
      roundMs: 100,
      peers: [urlB],
      args: ["--data", join(dir, "a"), "--ingress-release", "immediate"],
      name: "relay A",
    };
    const b: RelayProcessOptions = {
      port: portB,
      roundMs: 100,
      peers: [urlA],
      args: ["--data", join(dir, "b")],
      name: "relay B",
    };
    let relayA = await startRelayProcess(a);
    let relayB = await startRelayProcess(b);
    const viaA = await RelayClient.connectVia(
      urlB,
      await RelayClient.connect(urlA, { shaping: ShapingProfiles.off }),
    );
    const inbox = await createInbox(urlB);
    await relayB.stop();

    // B is down: A holds the forwards (and soon batches for B) in its file.
    const sent = ["while B was down 1", "while B was down 2", "while B was down 3"];
    for (const message of sent) {
      expect((await viaA.deposit(contactCard(inbox), text(message))).status).toBe("forwarded");
    }
    await relayA.kill();
    relayA = await startRelayProcess(a);
    relayB = await startRelayProcess(b);

    const direct = await RelayClient.connect(urlB, { shaping: ShapingProfiles.off });
    const got = await waitFor(
      async () => {
        const read = await direct.fetchAll(inbox);
        return read.status === "ok" ? read.messages.map((m) => untext(m.payload)) : [];
      },
      (messages) => messages.length >= sent.length,
      60_000,
      "the forwards held by A to reach B",
    );
    expect(got.sort()).toEqual([...sent].sort());
    await relayA.stop();
    await relayB.stop();
  }, 120_000);
});
