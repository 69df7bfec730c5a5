/**
 * The encrypted profile store in process: roundtrips under a passphrase and a key file, wrong
 * secrets and modified files, file modes, atomic replacement, the lock, and that nothing on disk
 * shows what is inside.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../src/protocol/bytes.js";
import {
  createKeyFile,
  newGroupFileId,
  ProfileStore,
  readKeyFile,
  writeFileAtomic,
} from "../../src/cli/profile-store.js";

let root: string;
let n = 0;
const fresh = () => join(root, `profile-${n++}`);
const passphrase = { passphrase: "correct horse battery staple" };
const SECRET_TEXT = JSON.stringify({ group: "secret-club", inboxId: "c2VjcmV0LWluYm94LWlk" });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "shroud-profile-store-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("ProfileStore", () => {
  it("roundtrips the profile and group files under a passphrase", async () => {
    const dir = fresh();
    const group = newGroupFileId();
    const store = await ProfileStore.create(dir, passphrase);
    await store.write("profile", SECRET_TEXT);
    await store.write({ group }, "group state");
    await store.close();

    const again = await ProfileStore.open(dir, passphrase);
    expect(await again.read("profile")).toBe(SECRET_TEXT);
    expect(await again.read({ group })).toBe("group state");
    await again.write("profile", "second version");
    expect(await again.read("profile")).toBe("second version");
    await again.close();
  });

  it("roundtrips under a key file, raw or base64url", async () => {
    const keyPath = join(root, "key.b64");
    await createKeyFile(keyPath);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await readFile(keyPath, "utf8")).trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const dir = fresh();
    const store = await ProfileStore.create(dir, { keyFile: keyPath });
    await store.write("profile", SECRET_TEXT);
    await store.close();
    const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as object;
    expect(meta).toMatchObject({ protection: "key-file", kdf: { name: "hkdf-sha256" } });

    // The same 32 bytes in raw form open it too; a passphrase is not asked for.
    const rawPath = join(root, "key.raw");
    await writeFile(rawPath, (await readKeyFile(keyPath)).expose());
    const again = await ProfileStore.open(dir, { keyFile: rawPath, passphrase: "ignored" });
    expect(await again.read("profile")).toBe(SECRET_TEXT);
    await again.close();
    await expect(createKeyFile(keyPath)).rejects.toThrow(/already exists/);
  });

  it("rejects a key file that is not 32 bytes", async () => {
    const bad = join(root, "short.key");
    await writeFile(bad, toBase64Url(new Uint8Array(16)));
    await expect(readKeyFile(bad)).rejects.toThrow(/must hold 32 bytes/);
    await expect(readKeyFile(join(root, "missing.key"))).rejects.toThrow(/no such file/);
  });

  it("a wrong passphrase or key file is one clear error", async () => {
    const dir = fresh();
    await (await ProfileStore.create(dir, passphrase)).close();
    await expect(ProfileStore.open(dir, { passphrase: "wrong" })).rejects.toThrow(
      "cannot decrypt the profile: wrong passphrase or key file",
    );
    const keyPath = join(root, "other.key");
    await createKeyFile(keyPath);
    const keyed = fresh();
    await (await ProfileStore.create(keyed, { keyFile: keyPath })).close();
    const wrongKey = join(root, "wrong.key");
    await createKeyFile(wrongKey);
    await expect(ProfileStore.open(keyed, { keyFile: wrongKey })).rejects.toThrow(
      /wrong passphrase or key file/,
    );
    // The secret the header asks for is missing: that is a usage error, not a wrong secret.
    await expect(ProfileStore.open(keyed, passphrase)).rejects.toMatchObject({ code: "usage" });
    await expect(ProfileStore.open(dir, {})).rejects.toMatchObject({ code: "usage" });
  });

  it("a modified, truncated or swapped file does not decrypt", async () => {
    const dir = fresh();
    const [a, b] = [newGroupFileId(), newGroupFileId()];
    const store = await ProfileStore.create(dir, passphrase);
    await store.write("profile", SECRET_TEXT);
    await store.write({ group: a }, "group a");
    await store.write({ group: b }, "group b");

    const profilePath = join(dir, "profile.enc");
    const sealed = await readFile(profilePath);
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    await writeFile(profilePath, flipped);
    await expect(store.read("profile")).rejects.toThrow(/damaged or was modified/);
    await writeFile(profilePath, sealed.subarray(0, 10));
    await expect(store.read("profile")).rejects.toThrow(/damaged or was modified/);

    // Group b's file under group a's name: bound to its name, so it does not open.
    await writeFile(
      join(dir, "groups", `${a}.enc`),
      await readFile(join(dir, "groups", `${b}.enc`)),
    );
    await expect(store.read({ group: a })).rejects.toThrow(/damaged or was modified/);
    expect(await store.read({ group: b })).toBe("group b");
    await expect(store.read({ group: "../profile" })).rejects.toThrow(/damaged/);
    await store.close();
  });

  it("a modified header reads as a wrong secret or a damaged header, never a crash", async () => {
    const dir = fresh();
    await (await ProfileStore.create(dir, passphrase)).close();
    const metaPath = join(dir, "meta.json");
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as Record<string, unknown>;
    await writeFile(
      metaPath,
      JSON.stringify({ ...meta, kdf: { name: "scrypt", N: 1024, r: 8, p: 1 } }),
    );
    await expect(ProfileStore.open(dir, passphrase)).rejects.toThrow(/wrong passphrase/);
    await writeFile(
      metaPath,
      JSON.stringify({ ...meta, kdf: { name: "scrypt", N: 2 ** 30, r: 8, p: 1 } }),
    );
    await expect(ProfileStore.open(dir, passphrase)).rejects.toThrow(/not a Shroud profile header/);
    await writeFile(metaPath, "{");
    await expect(ProfileStore.open(dir, passphrase)).rejects.toThrow(/not a Shroud profile header/);
    await expect(ProfileStore.open(fresh(), passphrase)).rejects.toThrow(/no profile in/);
  });

  it("writes files 0600 in a 0700 directory and leaves no plaintext or temp files", async () => {
    const dir = fresh();
    const group = newGroupFileId();
    const store = await ProfileStore.create(dir, passphrase);
    await store.write("profile", SECRET_TEXT);
    await store.write({ group }, SECRET_TEXT);
    await store.write({ group }, SECRET_TEXT);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "groups"))).mode & 0o777).toBe(0o700);
    await store.close();
    const files = await allFiles(dir);
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      `groups/${group}.enc`,
      "meta.json",
      "profile.enc",
    ]);
    for (const file of files) {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const bytes = await readFile(file);
      for (const needle of ["secret-club", "c2VjcmV0LWluYm94LWlk", "correct horse"]) {
        expect(bytes.includes(needle)).toBe(false);
      }
    }
  });

  it("refuses to create over an existing profile", async () => {
    const dir = fresh();
    await (await ProfileStore.create(dir, passphrase)).close();
    await expect(ProfileStore.create(dir, passphrase)).rejects.toThrow(/already holds a profile/);
  });

  it("holds a lock while open, and takes over a lock whose process has died", async () => {
    const dir = fresh();
    const store = await ProfileStore.create(dir, passphrase);
    expect(await readFile(join(dir, "lock"), "utf8")).toBe(String(process.pid));
    await store.close();
    await expect(stat(join(dir, "lock"))).rejects.toThrow();
    // A pid that cannot be running (beyond Linux's pid_max).
    await writeFile(join(dir, "lock"), "99999999");
    const again = await ProfileStore.open(dir, passphrase);
    await again.close();
  });

  it("writeFileAtomic replaces a file whole and applies the mode despite the umask", async () => {
    const path = join(root, "atomic.json");
    await writeFileAtomic(path, "one", 0o644);
    await writeFileAtomic(path, "two", 0o600);
    expect(await readFile(path, "utf8")).toBe("two");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(root)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    await expect(writeFileAtomic(join(root, "no-such-dir", "x"), "x", 0o600)).rejects.toThrow(
      /cannot write/,
    );
  });
});
