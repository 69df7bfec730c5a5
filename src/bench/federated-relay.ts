/**
 * One federated relay on Redis as a child process of the bench (node dist/bench/federated-relay.js
 * --redis URL --prefix P --port N --peer URL --round-ms N): startNodeRelay with
 * `redis: { url, prefix, masterKey }` (a fresh random master key) and `federation: { policy:
 * "allowlist", peers: [peer] }`. Prints one JSON line {"event":"listening","url":...} once it
 * serves. On SIGTERM or SIGINT it stops its rounds and federation delivery first, then closes:
 * a server waits for its keep-alive connections, which a peer delivering a batch every round
 * would otherwise keep busy for as long as the peer runs.
 */
import { exit, stdout } from "node:process";
import { parseArgs } from "node:util";
import { startNodeRelay, type RunningRelay } from "../node.js";
import { SecretBytes } from "../protocol/secret-bytes.js";

interface FederatedRelayOptions {
  redis: string;
  prefix: string;
  port: number;
  peer: string;
  roundMs: number;
}

function relayOptions(): FederatedRelayOptions {
  const { values } = parseArgs({
    options: {
      redis: { type: "string" },
      prefix: { type: "string" },
      port: { type: "string" },
      peer: { type: "string" },
      "round-ms": { type: "string" },
    },
  });
  const { redis, prefix, port, peer } = values;
  const roundMs = Number(values["round-ms"]);
  if (!redis || !prefix || !port || !peer || !Number.isInteger(roundMs)) {
    throw new RangeError("--redis, --prefix, --port, --peer and --round-ms are required");
  }
  return { redis, prefix, port: Number(port), peer, roundMs };
}

async function serve(options: FederatedRelayOptions): Promise<RunningRelay> {
  return startNodeRelay({
    port: options.port,
    redis: { url: options.redis, prefix: options.prefix, masterKey: SecretBytes.random(32) },
    config: {
      roundIntervalMs: options.roundMs,
      federation: { policy: "allowlist", peers: [options.peer] },
    },
  });
}

function shutdownOn(running: RunningRelay): void {
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await running.relay.stop();
      await running.close();
      exit(0);
    } catch (error) {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
}

try {
  const running = await serve(relayOptions());
  shutdownOn(running);
  stdout.write(`${JSON.stringify({ event: "listening", url: running.url })}\n`);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  exit(1);
}
