/**
 * POST /v1/federation is refused before its body is read when the refusal does not depend on
 * it: federation off (403), a declared length no batch of this relay's shape reaches (413), no
 * sending origin named (400), a sender the allowlist does not name (403). Each is checked with
 * a body that never ends, so only an answer given before reading it can arrive. A batch whose
 * signed origin is not the one named in the header is refused too (403), even when both are
 * allowed peers. Real relays over HTTP on loopback.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "../../src/protocol/bytes.js";
import { coverSlot, signBatch } from "../../src/protocol/federation-batch.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { BATCH_SENDER_HEADER } from "../../src/relay/federation.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { freePort } from "../../testkit/free-port.js";
import { descriptorOf, startRelay, type TestRelay } from "./support.js";

const CHUNK = 64 * 1024;

/**
 * POSTs to /v1/federation with these headers and a body that never ends (or, with `declared`,
 * a Content-Length of that many bytes of which only the first chunk is ever sent). Resolves
 * with the status of the answer and how many bytes had been written when it came.
 */
function postUnending(
  url: string,
  headers: Record<string, string>,
  declared?: number,
): Promise<{ status: number; written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const all: Record<string, string> = { "content-type": MediaTypes.federationBatch, ...headers };
    if (declared !== undefined) all["content-length"] = String(declared);
    const request = httpRequest(new URL("/v1/federation", url), { method: "POST", headers: all });
    const timer = setInterval(() => {
      if (answered || (declared !== undefined && written > 0)) return;
      request.write(randomBytes(CHUNK));
      written += CHUNK;
    }, 10);
    request.on("response", (response) => {
      answered = true;
      clearInterval(timer);
      response.resume();
      resolve({ status: response.statusCode ?? 0, written });
      request.destroy();
    });
    request.on("error", (error) => {
      clearInterval(timer);
      if (!answered) reject(error);
    });
  });
}

describe("POST /v1/federation refused before its body is read", () => {
  const relays: TestRelay[] = [];
  let off: TestRelay;
  let a: TestRelay;
  let x: TestRelay;
  let z: TestRelay;

  beforeAll(async () => {
    const [portA, portX, portZ] = [await freePort(), await freePort(), await freePort()];
    const [urlA, urlX, urlZ] = [portA, portX, portZ].map((p) => `http://127.0.0.1:${p}`);
    const allow = (peers: string[]) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers },
    });
    off = await startRelay({ host: "127.0.0.1", backend: { kind: "memory" } });
    relays.push(off);
    a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: { kind: "memory" },
      config: allow([urlX!, urlZ!]),
    });
    relays.push(a);
    x = await startRelay({
      host: "127.0.0.1",
      port: portX,
      backend: { kind: "memory" },
      config: allow([urlA!]),
    });
    relays.push(x);
    z = await startRelay({
      host: "127.0.0.1",
      port: portZ,
      backend: { kind: "memory" },
      config: allow([urlA!]),
    });
    relays.push(z);
  });

  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  it("answers at once when federation is off, the size is impossible or the sender unknown", async () => {
    const outcomes = {
      off: await postUnending(off.url, { [BATCH_SENDER_HEADER]: x.url }),
      declaredOversize: await postUnending(a.url, { [BATCH_SENDER_HEADER]: x.url }, 1024 * 1024),
      noSender: await postUnending(a.url, {}),
      unknownSender: await postUnending(a.url, { [BATCH_SENDER_HEADER]: off.url }),
      badSender: await postUnending(a.url, { [BATCH_SENDER_HEADER]: "not an origin" }),
    };
    expect(Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, v.status]))).toEqual({
      off: 403,
      declaredOversize: 413,
      noSender: 400,
      unknownSender: 403,
      badSender: 400,
    });
    // Answered from the headers: far less was sent than any batch limit.
    for (const { written } of Object.values(outcomes)) expect(written).toBeLessThan(1024 * 1024);
    expect(a.logs).toEqual([]);
  });

  it("accepts a default-sized batch and refuses one whose signed origin is not the named sender", async () => {
    const descriptorA = await descriptorOf(a.url);
    const header = new Uint8Array([descriptorA.keys[0]!.config.keyId, 0, 0x20, 0, 1, 0, 1]);
    const batchFromZ = () =>
      signBatch(
        {
          origin: z.url,
          destination: a.url,
          batchId: randomBytes(16),
          slotCapacity: DEFAULT_FEDERATION.slotCapacity,
          slots: Array.from({ length: DEFAULT_FEDERATION.slotsPerBatch }, () =>
            coverSlot(header, 1024),
          ),
        },
        z.relay.keyRing.signingKey,
      );
    const post = async (sender: string, body: Uint8Array) => {
      const response = await fetch(new URL("/v1/federation", a.url), {
        method: "POST",
        headers: { "content-type": MediaTypes.federationBatch, [BATCH_SENDER_HEADER]: sender },
        body: new Uint8Array(body),
      });
      return `${response.status} ${await response.text()}`;
    };
    // Z's batch announced as X's: both are peers, but X did not send it.
    expect(await post(x.url, await batchFromZ())).toBe("403 forbidden");
    expect(await a.counter(MetricName.federationBatchesReceived, { peer: z.url })).toBe(0);
    expect(await post(z.url, await batchFromZ())).toBe("200 accepted");
    expect(await a.counter(MetricName.federationBatchesReceived, { peer: z.url })).toBe(1);
  });

  it("delivers the batches of real peers, which name themselves", async () => {
    await x.relay.closeRound();
    await expect
      .poll(() => x.batches.map((w) => `${w.status} ${w.answer}`), { timeout: 10_000 })
      .toEqual(["200 accepted"]);
  });
});
