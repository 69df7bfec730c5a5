/**
 * Keeps the relay's key ring in <data dir>/keys.json (directory 0700, file 0600), written to a
 * temporary file, flushed to disk and renamed, so a crash never leaves a torn or lost key file.
 */
import { chmod, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { fromBase64Url, toBase64Url } from "../../protocol/bytes.js";
import { ConfigError } from "../../protocol/errors.js";
import { isAeadId, isKdfId, isKemId } from "../../protocol/hpke-suite.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import type { KeyStore, StoredHpkeKey, StoredKeyRing } from "../../relay/ports/key-store.js";

const FILE_NAME = "keys.json";
const FORMAT = "shroud-keys/v1";

interface KeyFile {
  format: typeof FORMAT;
  signing: { publicKey: string; privateKeyPkcs8: string };
  hpke: Array<{
    keyId: number;
    kemId: number;
    suites: Array<{ kdfId: number; aeadId: number }>;
    publicKey: string;
    privateKey: string;
    createdAt: number;
    retireAt?: number;
  }>;
}

function toFile(ring: StoredKeyRing): KeyFile {
  return {
    format: FORMAT,
    signing: {
      publicKey: toBase64Url(ring.signing.publicKey),
      privateKeyPkcs8: toBase64Url(ring.signing.privateKeyPkcs8.expose()),
    },
    hpke: ring.hpke.map((k) => ({
      keyId: k.keyId,
      kemId: k.kemId,
      suites: k.suites,
      publicKey: toBase64Url(k.publicKey),
      privateKey: toBase64Url(k.privateKey.expose()),
      createdAt: k.createdAt,
      ...(k.retireAt === undefined ? {} : { retireAt: k.retireAt }),
    })),
  };
}

function fromFile(file: KeyFile): StoredKeyRing {
  if (file.format !== FORMAT || !Array.isArray(file.hpke)) throw new TypeError("format");
  const hpke: StoredHpkeKey[] = file.hpke.map((k) => {
    if (!isKemId(k.kemId)) throw new TypeError("kem");
    const suites = k.suites.map((s) => {
      if (!isKdfId(s.kdfId) || !isAeadId(s.aeadId)) throw new TypeError("suite");
      return { kdfId: s.kdfId, aeadId: s.aeadId };
    });
    if (!Number.isInteger(k.keyId) || k.keyId < 0 || k.keyId > 255) throw new TypeError("id");
    return {
      keyId: k.keyId,
      kemId: k.kemId,
      suites,
      publicKey: fromBase64Url(k.publicKey),
      privateKey: new SecretBytes(fromBase64Url(k.privateKey)),
      createdAt: k.createdAt,
      ...(k.retireAt === undefined ? {} : { retireAt: k.retireAt }),
    };
  });
  return {
    signing: {
      publicKey: fromBase64Url(file.signing.publicKey),
      privateKeyPkcs8: new SecretBytes(fromBase64Url(file.signing.privateKeyPkcs8)),
    },
    hpke,
  };
}

/**
 * @example const keys = new FileKeyStore("./.shroud");
 */
export class FileKeyStore implements KeyStore {
  constructor(readonly dataDir: string) {}

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
      return fromFile(JSON.parse(text) as KeyFile);
    } catch {
      throw new ConfigError(`key file ${this.path} is corrupt`);
    }
  }

  async save(ring: StoredKeyRing): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    await chmod(this.dataDir, 0o700);
    const temp = `${this.path}.${process.pid}.tmp`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.chmod(0o600);
      await file.writeFile(JSON.stringify(toFile(ring), null, 2));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    // The rename is durable only once the directory entry is flushed too.
    const dir = await open(this.dataDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
