/**
 * The shared conformance suites on the Workers adapter, inside workerd: the storage ports on
 * Durable Objects, and the federation queue through the real Cloudflare Queue (Miniflare's) and
 * the Worker's own queue consumer. Each factory call names a fresh relay instance, so every
 * test gets objects of its own.
 */
import { env } from "cloudflare:test";
import { federationName } from "../../src/adapters/workers/object-names.js";
import { WorkersFederationQueue } from "../../src/adapters/workers/ports/workers-federation-queue.js";
import { workersPorts } from "../../src/adapters/workers/ports/workers-ports.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { describeFederationQueueConformance } from "../conformance/federation-conformance.js";
import { describePortConformance } from "../conformance/port-conformance.js";

const instance = () => `test-${toHex(randomBytes(8))}`;

describePortConformance("workers", async () =>
  workersPorts(env, { instance: instance(), masterKey: SecretBytes.random(32) }),
);

const queueOf = (name: string) =>
  new WorkersFederationQueue(
    () => env.FEDERATION.get(env.FEDERATION.idFromName(federationName(name))),
    env.FEDERATION_QUEUE,
    name,
  );

describeFederationQueueConformance(
  "workers",
  async () => {
    const name = instance();
    return { queue: queueOf(name), reopen: async () => queueOf(name) };
  },
  // Miniflare's queue waits its 50 ms batch timeout before each attempt, and workerd shares two
  // cores with the Node tests running beside it.
  { durable: true, lateMs: 900, delayUnitMs: 1000 },
);
