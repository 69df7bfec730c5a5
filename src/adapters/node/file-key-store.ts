/**
 * Keeps the relay's key ring in <data dir>/keys.json (directory 0700, file 0600), written to a
 * temporary file, flushed to disk and renamed, so a crash never leaves a torn or lost key file.
 */
import { chmod, link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../protocol/errors.js";
import { keyRingFromJson, keyRingToJson } from "../../relay/key-ring-json.js";
import type { KeyStore, StoredKeyRing } from "../../relay/ports/key-store.js";

const FILE_NAME = "keys.json";

async function syncDir(dir: string): Promise<void> {
  // A rename or link is durable only once the directory entry is flushed too.
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * @example const keys = new FileKeyStore("./.shroud");
 */
export class FileKeyStore implements KeyStore {
  constructor(readonly dataDir: string) {}

  /** The file holding the key ring (`keys.json` in the data directory). */
  get path(): string {
    return join(this.dataDir, FILE_NAME);
  }

  async load(): Promise<StoredKeyRing | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ConfigError(`cannot read key file ${this.path}`);
    }
    try {
      return keyRingFromJson(text);
    } catch {
      throw new ConfigError(`key file ${this.path} is corrupt`);
    }
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    const temp = await this.#writeTemp(ring);
    try {
      // link() fails if keys.json exists: creation is atomic, and the first writer wins.
      await link(temp, this.path);
      await syncDir(this.dataDir);
      return ring;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const stored = await this.load();
      if (!stored) throw new ConfigError(`cannot read key file ${this.path}`);
      return stored;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async save(ring: StoredKeyRing): Promise<void> {
    await rename(await this.#writeTemp(ring), this.path);
    await syncDir(this.dataDir);
  }

  async #writeTemp(ring: StoredKeyRing): Promise<string> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await chmod(this.dataDir, 0o700);
    const temp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.chmod(0o600);
      await file.writeFile(keyRingToJson(ring));
      await file.sync();
    } finally {
      await file.close();
    }
    return temp;
  }
}
