/**
 * A shaping client of its token issuer sends the wallet's refills in its read slots: a refill
 * takes the place of a cover read instead of adding a request at a time of its own. A client
 * of another relay, or one that has closed, leaves the wallet to refill directly.
 */
import { afterEach, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TokenWallet } from "../../src/client/token-wallet.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { addressAttester } from "../../src/relay/attester.js";
import { DEFAULT_TOKEN_ISSUE } from "../../src/relay/relay-config.js";

const running: RunningRelay[] = [];
const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function issuer(): Promise<string> {
  const relay = await startNodeRelay({
    port: 0,
    ports: memoryPorts(),
    attester: addressAttester,
    config: {
      roundIntervalMs: 100,
      tokens: { requirement: "off", freePerMinute: 0, accept: [], issue: DEFAULT_TOKEN_ISSUE },
    },
  });
  running.push(relay);
  return relay.url;
}

it("refills in a read slot of the issuer's shaping client, and directly once it closed", async () => {
  const url = await issuer();
  const wallet = new TokenWallet(url, { batchSize: 4 });
  /** A slow schedule, so that a slot is easy to tell from a request of its own. */
  const shaping = { kind: "constant", intervalMs: 150, cellSize: 4096 } as const;
  const client = await RelayClient.connect(url, { shaping, tokens: wallet });
  clients.push(client);
  expect(client.shapingStats?.real).toBe(0);

  expect(await wallet.refill()).toBe(4);
  // The refill was the one real request the client's slots carried.
  expect(client.shapingStats?.real).toBe(1);

  client.close();
  expect(await wallet.refill()).toBe(8);
  expect(client.shapingStats?.real).toBe(1);
}, 30_000);

it("leaves the refills of another issuer's wallet alone", async () => {
  const [home, other] = [await issuer(), await issuer()];
  const wallet = new TokenWallet(home, { batchSize: 2 });
  const shaping = { kind: "constant", intervalMs: 150, cellSize: 4096 } as const;
  const client = await RelayClient.connect(other, { shaping, tokens: wallet });
  clients.push(client);
  expect(await wallet.refill()).toBe(2);
  expect(client.shapingStats?.real).toBe(0);
}, 30_000);
