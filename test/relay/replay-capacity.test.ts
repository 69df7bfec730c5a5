/**
 * The embedded replay set is bounded: once full it refuses new records (the relay answers an
 * opaque 503) instead of growing until the process runs out of heap, and it still recognises
 * every replay it holds. Forgetting a key makes room again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import {
  DEFAULT_MAX_REPLAY_RECORDS,
  MemoryReplaySet,
} from "../../src/adapters/memory/memory-replay-set.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { CapacityError } from "../../src/relay/errors.js";
import { keyTag } from "../../src/relay/key-ring.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

describe("MemoryReplaySet capacity", () => {
  it("refuses a new record once full, still answers replays, and makes room on forget", async () => {
    const replay = new MemoryReplaySet({ maxRecords: 3 });
    const [a, b, c, d] = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
    expect(await replay.add("k1", a)).toBe(true);
    expect(await replay.add("k1", b)).toBe(true);
    expect(await replay.add("k2", c)).toBe(true);
    await expect(replay.add("k2", d)).rejects.toBeInstanceOf(CapacityError);
    // A record already held is still a replay, full or not; the refused one was not recorded.
    expect(await replay.add("k1", a)).toBe(false);
    expect(await replay.has("k2", d)).toBe(false);
    expect(replay.size()).toBe(3);
    await replay.forget("k1");
    expect(replay.size()).toBe(1);
    expect(await replay.add("k2", d)).toBe(true);
    expect(await replay.add("k2", a)).toBe(true);
    await expect(replay.add("k3", b)).rejects.toBeInstanceOf(CapacityError);
  });

  it("keeps records whole, long ones included, and has a documented default", async () => {
    expect(DEFAULT_MAX_REPLAY_RECORDS).toBe(1_000_000);
    const replay = new MemoryReplaySet();
    const long = randomBytes(10_000);
    const other = long.slice();
    other[9_999]! ^= 1;
    expect(await replay.add("t", long)).toBe(true);
    expect(await replay.has("t", other)).toBe(false);
    expect(await replay.add("t", other)).toBe(true);
    expect(await replay.add("t", long.slice())).toBe(false);
    // Every byte value survives the conversion to a key.
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(await replay.add("t", all)).toBe(true);
    expect(await replay.has("t", all.slice(0, 255))).toBe(false);
    expect(await replay.has("t", all.slice())).toBe(true);
  });

  describe("a relay on a full replay set", () => {
    let running: RunningRelay | undefined;
    afterEach(async () => {
      await running?.close();
      running = undefined;
    });

    it("answers new requests with an opaque 503 and serves again once the key is retired", async () => {
      const replay = new MemoryReplaySet({ maxRecords: 2 });
      const ports = { ...memoryPorts(), replay };
      running = await startNodeRelay({
        port: 0,
        ports,
        config: { roundIntervalMs: 60_000 },
      });
      const answers: { status: number; body: string }[] = [];
      const recording: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (!String(input instanceof Request ? input.url : input).endsWith("/v1/relay")) {
          return response;
        }
        const body = new Uint8Array(await response.arrayBuffer());
        answers.push({ status: response.status, body: new TextDecoder().decode(body) });
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const client = await RelayClient.connect(running.url, {
        shaping: ShapingProfiles.off,
        fetch: recording,
      });
      await client.cover();
      await client.cover();
      await expect(client.cover()).rejects.toThrow("relay answered HTTP 503");
      expect(answers.at(-1)).toEqual({ status: 503, body: "unavailable" });
      // A deposit too: its replay record is written before it is acted on, and nothing is.
      const stored = ports.inboxes.snapshot() + ports.pool.snapshot();
      const card = contactCard(await createInbox(running.url));
      await expect(client.deposit(card, randomBytes(16))).rejects.toThrow(
        "relay answered HTTP 503",
      );
      expect(answers.at(-1)).toEqual({ status: 503, body: "unavailable" });
      expect(ports.inboxes.snapshot() + ports.pool.snapshot()).toBe(stored);
      expect(replay.size()).toBe(2);
      // Retiring the key takes its records along and frees the set.
      for (const key of running.relay.keyRing.stored.hpke) await replay.forget(keyTag(key));
      await client.cover();
      expect(answers.at(-1)?.status).toBe(200);
    });
  });
});
