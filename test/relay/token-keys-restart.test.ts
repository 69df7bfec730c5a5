/**
 * A relay whose replay set does not survive a restart drops its issuer keys at start, as it
 * renews its HPKE keys: the spent tokens that guarded them are gone, so the tokens already
 * issued under them must no longer be honoured.
 */
import { expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { nodeBlindSigner } from "../../src/adapters/node/node-blind-signer.js";
import { toHex } from "../../src/protocol/bytes.js";
import { Relay } from "../../src/relay/relay.js";
import { DEFAULT_TOKEN_ISSUE, relayConfig } from "../../src/relay/relay-config.js";

it("renews the issuer keys at a start on a volatile replay set", async () => {
  const keys = new MemoryKeyStore();
  const config = relayConfig({
    origin: "https://a.example",
    tokens: { requirement: "off", freePerMinute: 0, accept: [], issue: DEFAULT_TOKEN_ISSUE },
  });
  const open = () =>
    Relay.open(config, { ...memoryPorts({ keys }), blindSigner: nodeBlindSigner() });
  const first = await open();
  await first.maintain();
  const before = first.keyRing.stored.tokens ?? [];
  expect(before).toHaveLength(1);

  const second = await open();
  expect(second.keyRing.stored.tokens).toEqual([]);
  await second.maintain();
  const after = second.keyRing.stored.tokens ?? [];
  expect(after).toHaveLength(1);
  expect(toHex(after[0]!.publicKey)).not.toBe(toHex(before[0]!.publicKey));
});
