/**
 * The Worker's admin bearer token check: only the exact token passes, and a guess of another
 * length goes through the same work as one of the right length (both sides hashed, digests
 * compared in constant time) instead of returning early on the length.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { bearerTokenMatches } from "../../src/relay/bearer-token.js";
import { utf8 } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";

const TOKEN = "admin-token-0123456789abcdef";
const token = () => new SecretBytes(utf8(TOKEN));

describe("bearerTokenMatches", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("accepts the exact token and refuses everything else", async () => {
    expect(await bearerTokenMatches(`Bearer ${TOKEN}`, token())).toBe(true);
    const refused = [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      TOKEN,
      `bearer ${TOKEN}`,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}X`,
      `Bearer ${TOKEN} `,
      `Bearer x`,
      `Bearer ${"a".repeat(4096)}`,
    ];
    for (const header of refused) {
      expect(await bearerTokenMatches(header, token()), String(header)).toBe(false);
    }
  });

  it("hashes the guess and the token whatever the guess's length (no early return)", async () => {
    // Watches the platform's SHA-256 (it still runs): which inputs each check digests.
    const digest = vi.spyOn(crypto.subtle, "digest");
    const digested = async (header: string) => {
      digest.mockClear();
      expect(await bearerTokenMatches(header, token())).toBe(false);
      return digest.mock.calls.map(([, data]) => (data as Uint8Array).length).sort((a, b) => a - b);
    };
    const sameLength = await digested(`Bearer ${"x".repeat(TOKEN.length)}`);
    const shorter = await digested("Bearer x");
    const longer = await digested(`Bearer ${"x".repeat(TOKEN.length * 3)}`);
    expect(sameLength).toEqual([TOKEN.length, TOKEN.length]);
    expect(shorter).toEqual([1, TOKEN.length]);
    expect(longer).toEqual([TOKEN.length, TOKEN.length * 3]);
  });
});
