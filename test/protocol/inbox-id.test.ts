import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { nodeHpkePrimitives } from "../../src/adapters/node/node-hpke-primitives.js";
import { toHex } from "../../src/protocol/bytes.js";
import {
  activeHpkePrimitives,
  useHpkePrimitives,
  webCryptoPrimitives,
} from "../../src/protocol/hpke-suite.js";
import { inboxAddress, inboxIdOf, readIdFor, writeTokenHash } from "../../src/protocol/inbox-id.js";
import { pattern } from "../../testkit/protocol-checks.js";

/** The derivations again, on node:crypto, straight from the comment in inbox-id.ts. */
function sha256(...parts: (string | Uint8Array)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

const readSecret = pattern(32, 1);
const writeToken = pattern(32, 2);

describe("inbox capabilities (protocol v2)", () => {
  const previous = activeHpkePrimitives();
  afterEach(() => useHpkePrimitives(previous));

  it.each([
    ["WebCrypto (Workers, browsers)", webCryptoPrimitives],
    ["node:crypto (Node entry points)", nodeHpkePrimitives],
  ])("derives read id, token hash and inbox id as documented, on %s", async (_name, primitives) => {
    useHpkePrimitives(primitives);
    const readId = sha256("shroud/v2 read id", new Uint8Array([0]), readSecret);
    const tokenHash = sha256("shroud/v2 write token", new Uint8Array([0]), writeToken);
    const inboxId = sha256(
      "shroud/v2 inbox id",
      new Uint8Array([0]),
      Buffer.from(readId, "hex"),
      Buffer.from(tokenHash, "hex"),
    );
    expect(toHex(await readIdFor(readSecret))).toBe(readId);
    expect(toHex(await writeTokenHash(writeToken))).toBe(tokenHash);
    const address = await inboxAddress(readSecret, writeToken);
    expect([address.readId, address.writeTokenHash, address.inboxId].map(toHex)).toEqual([
      readId,
      tokenHash,
      inboxId,
    ]);
  });

  it("names another inbox for another write token (no token can lock an inbox)", async () => {
    const readId = await readIdFor(readSecret);
    const right = await inboxIdOf(readId, await writeTokenHash(writeToken));
    const wrong = await inboxIdOf(readId, await writeTokenHash(pattern(32, 3)));
    expect(toHex(wrong)).not.toBe(toHex(right));
  });
});
