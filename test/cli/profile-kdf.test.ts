/**
 * Profile encryption strength: new profiles use scrypt N = 2^17 (recorded in the header), a
 * profile made with the old cost (N = 2^15, a real one in test/fixtures) still opens, and a new
 * profile refuses a short passphrase with a clear error before anything is written.
 */
import { cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_PASSPHRASE_CHARS, ProfileStore } from "../../src/cli/profile-store.js";
import { root } from "./support.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shroud-profile-kdf-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("profile key derivation", () => {
  it("derives a new profile's key with scrypt N = 2^17, r = 8, p = 1 and records it", async () => {
    const profile = join(dir, "new");
    const store = await ProfileStore.create(profile, { passphrase: "correct horse battery" });
    await store.write("profile", "hello");
    await store.close();
    const meta = JSON.parse(await readFile(join(profile, "meta.json"), "utf8")) as object;
    expect(meta).toMatchObject({ kdf: { name: "scrypt", N: 2 ** 17, r: 8, p: 1 } });
    const again = await ProfileStore.open(profile, { passphrase: "correct horse battery" });
    expect(await again.read("profile")).toBe("hello");
    await again.close();
  });

  it("opens a profile made with the old cost (N = 2^15) from its header", async () => {
    const profile = join(dir, "old");
    await cp(join(root, "test", "fixtures", "profile-scrypt-2-15"), profile, { recursive: true });
    const meta = JSON.parse(await readFile(join(profile, "meta.json"), "utf8")) as object;
    expect(meta).toMatchObject({ kdf: { name: "scrypt", N: 2 ** 15, r: 8, p: 1 } });
    const store = await ProfileStore.open(profile, { passphrase: "an old profile's passphrase" });
    expect(JSON.parse(await store.read("profile"))).toEqual({
      made: "with scrypt N=2^15, r=8, p=1",
    });
    await store.close();
    await expect(ProfileStore.open(profile, { passphrase: "another passphrase" })).rejects.toThrow(
      "cannot decrypt the profile: wrong passphrase or key file",
    );
  });

  it("refuses a passphrase shorter than the minimum, before anything is written", async () => {
    expect(MIN_PASSPHRASE_CHARS).toBe(12);
    for (const passphrase of [
      "x",
      "hunter2",
      "a".repeat(MIN_PASSPHRASE_CHARS - 1),
      "ééééééééééé",
    ]) {
      const profile = join(dir, `short-${passphrase.length}`);
      const created = ProfileStore.create(profile, { passphrase });
      await expect(created).rejects.toMatchObject({ code: "usage" });
      await expect(created).rejects.toThrow(
        /^SHROUD_PASSPHRASE must have at least 12 characters, got \d+: /,
      );
      await expect(stat(profile)).rejects.toThrow();
    }
    // Characters, not bytes: twelve accented letters are enough.
    const accented = join(dir, "accented");
    await (await ProfileStore.create(accented, { passphrase: "é".repeat(12) })).close();
  });
});
