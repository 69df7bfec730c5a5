/**
 * Pins the ts-mls internals that src/client/mls/sender-data.ts relies on (decryptSenderData,
 * the key schedule's and the retained epochs' sender-data secrets) to the exact ts-mls version
 * in package.json. An upgrade that moves them fails here, not in a group.
 */
import { readFileSync } from "node:fs";
import { createApplicationMessage, createGroup } from "ts-mls";
import { describe, expect, it } from "vitest";
import { newKeyPackage } from "../../src/client/mls/member.js";
import { mlsClientConfig, mlsSuite } from "../../src/client/mls/mls-suite.js";
import { senderOf } from "../../src/client/mls/sender-data.js";
import { randomBytes } from "../../src/protocol/bytes.js";

const json = (path: string) =>
  JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
    version?: string;
    dependencies?: Record<string, string>;
  };

describe("ts-mls internals behind sender-data.ts", () => {
  it("come from the one exact ts-mls version package.json pins", () => {
    const pinned = json("../../package.json").dependencies!["ts-mls"]!;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(json("../../node_modules/ts-mls/package.json").version).toBe(pinned);
  });

  it("read a message's sender and generation before it is processed", async () => {
    const own = await newKeyPackage("alice");
    const suite = await mlsSuite();
    let state = await createGroup(
      randomBytes(32),
      own.publicPackage,
      own.privatePackage,
      [],
      suite,
      mlsClientConfig,
    );
    const senders = [];
    for (const text of ["one", "two", "three"]) {
      const sent = await createApplicationMessage(state, new TextEncoder().encode(text), suite);
      senders.push(await senderOf(state, sent.privateMessage));
      state = sent.newState;
    }
    expect(senders.map((s) => [s?.leafIndex, s?.generation, s?.past])).toEqual([
      [0, 0, false],
      [0, 1, false],
      [0, 2, false],
    ]);
    // A message of a later epoch than the state's cannot be read yet.
    const later = await createApplicationMessage(state, new Uint8Array(1), suite);
    const future = { ...later.privateMessage, epoch: state.groupContext.epoch + 1n };
    expect(await senderOf(state, future)).toBeUndefined();
  });
});
