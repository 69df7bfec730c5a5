/**
 * A profile directory encrypted at rest: the CLI's member, routes and groups, each file sealed
 * with AES-256-GCM under one profile key.
 *
 *   DIR/meta.json            unencrypted header: how the key is derived, salt, key check
 *   DIR/profile.enc          the profile (member, routes, which group lives in which file)
 *   DIR/tokens.enc           Privacy Pass tokens and their issuer (once `shroud tokens refill` ran)
 *   DIR/groups/<hex>.enc     one file per group; the name is random, the group's name is inside
 *   DIR/lock                 held (O_EXCL, our pid) while a command uses the profile
 *
 * The key comes from a passphrase (at least MIN_PASSPHRASE_CHARS characters for a new profile)
 * through scrypt with a random per-profile salt and the cost recorded in the header, or from a
 * 32-byte key file through HKDF with the same salt. Every sealed file is
 * version (1) || nonce (12) || ciphertext || tag (16), with associated data naming the file, so
 * one group's file cannot be swapped in for another's or for the profile. The header holds a
 * sealed empty string (the key check), so a wrong secret is told apart from a damaged file.
 * Files are mode 0600, the directories 0700; every write is a temp file, fsync, rename.
 */
import {
  createCipheriv,
  createDecipheriv,
  hkdf,
  randomBytes as nodeRandomBytes,
  scrypt,
  type ScryptOptions,
} from "node:crypto";
import { access, chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fromBase64Url, toBase64Url, toHex, utf8 } from "../protocol/bytes.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import { CliError, UsageError } from "./cli-support.js";

/** Where a profile's secret may come from; which one is used is recorded in the header. */
export interface ProfileSecrets {
  /** From SHROUD_PASSPHRASE (never a flag: it would show in the process list). */
  passphrase?: string | undefined;
  /** Path of a key file (--key-file or SHROUD_KEY_FILE). */
  keyFile?: string | undefined;
}

/**
 * A sealed file of the profile: the profile itself, its Privacy Pass tokens, or one group (by
 * its random file id).
 */
export type ProfileFile = "profile" | "tokens" | { group: string };

type Protection = "passphrase" | "key-file";

interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

interface Header {
  protection: Protection;
  salt: Uint8Array;
  scrypt: ScryptCost;
  check: Uint8Array;
}

const VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;
const SALT_LENGTH = 32;
/**
 * For new profiles: 128 MiB and about 0.3 s per command on a 2-core machine, and so per guess
 * for an attacker with the files. Profiles made earlier (N = 2^15) keep the cost in their header.
 */
const DEFAULT_SCRYPT: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
/** Shortest passphrase a new profile accepts, in characters: a few words, not a PIN. */
export const MIN_PASSPHRASE_CHARS = 12;
const WRONG_SECRET = "cannot decrypt the profile: wrong passphrase or key file";
const LABEL = "shroud/v1 profile";
const LOCK_WAIT_MS = 10_000;

const META = "meta.json";
const PROFILE = "profile.enc";
const TOKENS = "tokens.enc";
const GROUPS = "groups";
const LOCK = "lock";

/** A fresh random file id for a group (hex: says nothing about the group). */
export function newGroupFileId(): string {
  return toHex(new Uint8Array(nodeRandomBytes(16)));
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Replaces `path` with `data` atomically: a crash leaves the old file or the new one, never half
 * of one. The temp file is created with `mode` (and chmod'ed, since the umask may clear bits).
 *
 * @example
 * await writeFileAtomic("profile/card.json", cardJson, 0o644);
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${newGroupFileId()}.tmp`);
  try {
    const handle = await open(tmp, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(`cannot write ${path}: ${code}`);
  }
  // The rename is durable only once the directory is; some platforms cannot fsync one.
  const dir = await open(dirname(path), "r").catch(() => undefined);
  await dir
    ?.sync()
    .catch(() => undefined)
    .finally(() => dir.close());
}

function aad(file: ProfileFile | "check"): Uint8Array {
  const name = typeof file === "string" ? file : `group ${file.group}`;
  return utf8(`${LABEL} ${name}`);
}

function seal(key: SecretBytes, file: ProfileFile | "check", plaintext: Uint8Array): Uint8Array {
  const nonce = nodeRandomBytes(NONCE_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", key.expose(), nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad(file));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]));
}

/** Opens a sealed file; undefined when it does not authenticate (wrong key or modified). */
function unseal(
  key: SecretBytes,
  file: ProfileFile | "check",
  sealed: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < 1 + NONCE_LENGTH + TAG_LENGTH || sealed[0] !== VERSION) return undefined;
  const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
  const body = sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.expose(), nonce, {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad(file));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    return undefined;
  }
}

function scryptAsync(secret: string, salt: Uint8Array, cost: ScryptCost): Promise<Uint8Array> {
  // Node refuses anything above maxmem (32 MiB by default), which every cost from N = 2^15, r = 8
  // on exceeds.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize("NFC"), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

function hkdfAsync(ikm: Uint8Array, salt: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    hkdf("sha256", ikm, salt, `${LABEL} key file`, KEY_LENGTH, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

/**
 * Reads a key file: exactly 32 raw bytes, or 32 bytes in base64url or base64 (one line).
 * CliError naming the path when it is neither.
 */
export async function readKeyFile(path: string): Promise<SecretBytes> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const why = isErrno(error, "ENOENT") ? "no such file" : "cannot read it";
    throw new CliError(`key file ${path}: ${why}`);
  }
  if (bytes.length === KEY_LENGTH) {
    const key = new SecretBytes(bytes);
    bytes.fill(0);
    return key;
  }
  const text = Buffer.from(bytes).toString("latin1").trim();
  let decoded: Uint8Array = new Uint8Array(0);
  try {
    decoded = fromBase64Url(text.replace(/\+/g, "-").replace(/\//g, "_"));
  } catch {
    // reported below
  }
  bytes.fill(0);
  if (decoded.length !== KEY_LENGTH) {
    throw new CliError(`key file ${path} must hold 32 bytes (raw, or base64url on one line)`);
  }
  const key = new SecretBytes(decoded);
  decoded.fill(0);
  return key;
}

/**
 * Writes a new key file with 32 random bytes in base64url (mode 0600); CliError if it exists.
 *
 * @example
 * await createKeyFile("alice.key"); // then: shroud profile create ... --key-file alice.key
 */
export async function createKeyFile(path: string): Promise<void> {
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.writeFile(`${toBase64Url(new Uint8Array(nodeRandomBytes(KEY_LENGTH)))}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(path, 0o600);
  } catch (error) {
    if (isErrno(error, "EEXIST")) throw new CliError(`key file ${path} already exists`);
    throw new CliError(`cannot write key file ${path}`);
  }
}

async function deriveKey(header: Header, secrets: ProfileSecrets): Promise<SecretBytes> {
  if (header.protection === "key-file") {
    if (secrets.keyFile === undefined) {
      throw new UsageError(
        "this profile is encrypted under a key file: give --key-file FILE or set SHROUD_KEY_FILE",
      );
    }
    const key = await readKeyFile(secrets.keyFile);
    return new SecretBytes(await hkdfAsync(key.expose(), header.salt));
  }
  if (secrets.passphrase === undefined || secrets.passphrase === "") {
    throw new UsageError("this profile is encrypted under a passphrase: set SHROUD_PASSPHRASE");
  }
  return new SecretBytes(await scryptAsync(secrets.passphrase, header.salt, header.scrypt));
}

function headerToJson(header: Header): string {
  return `${JSON.stringify(
    {
      shroud: "profile/v1",
      protection: header.protection,
      kdf:
        header.protection === "passphrase"
          ? { name: "scrypt", ...header.scrypt }
          : { name: "hkdf-sha256" },
      salt: toBase64Url(header.salt),
      check: toBase64Url(header.check),
    },
    null,
    2,
  )}\n`;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

function headerFromJson(text: string, path: string): Header {
  const damaged = new CliError(`${path} is not a Shroud profile header (damaged?)`);
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(text) as Record<string, unknown>;
    if (record?.["shroud"] !== "profile/v1") throw damaged;
    const protection = record["protection"];
    if (protection !== "passphrase" && protection !== "key-file") throw damaged;
    const kdf = (record["kdf"] ?? {}) as Record<string, unknown>;
    const cost = { N: Number(kdf["N"] ?? 0), r: Number(kdf["r"] ?? 0), p: Number(kdf["p"] ?? 0) };
    // Bounded so that a header cannot make a command allocate gigabytes; a changed cost also
    // changes the key, so lowering it only turns into "wrong passphrase".
    const costOk =
      isPowerOfTwo(cost.N) &&
      cost.N >= 2 ** 10 &&
      cost.N <= 2 ** 20 &&
      cost.r >= 1 &&
      cost.r <= 32 &&
      cost.p >= 1 &&
      cost.p <= 16;
    if (protection === "passphrase" && !costOk) throw damaged;
    const salt = fromBase64Url(record["salt"] as string);
    const check = fromBase64Url(record["check"] as string);
    if (salt.length !== SALT_LENGTH) throw damaged;
    return { protection, salt, scrypt: costOk ? cost : DEFAULT_SCRYPT, check };
  } catch {
    throw damaged;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, "ESRCH");
  }
}

/**
 * Takes the profile's lock: two commands on one profile at once would fork the MLS state and
 * reuse ratchet keys. A lock left by a process that has died is taken over.
 */
async function lock(dir: string): Promise<string> {
  const path = join(dir, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return path;
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw new CliError(`cannot lock the profile in ${dir}`);
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new CliError(`the profile in ${dir} is in use by another shroud command`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * @example
 * const store = await ProfileStore.create("alice", { passphrase: "correct horse" });
 * await store.write("profile", json);
 * await store.close();
 * const again = await ProfileStore.open("alice", { passphrase: "correct horse" });
 * const text = await again.read("profile");
 */
export class ProfileStore {
  #key: SecretBytes;
  #lockPath: string | undefined;

  private constructor(
    /** The profile directory. */
    readonly dir: string,
    key: SecretBytes,
    lockPath: string,
  ) {
    this.#key = key;
    this.#lockPath = lockPath;
  }

  /** Whether `dir` holds a profile (its header). */
  static async exists(dir: string): Promise<boolean> {
    return readFile(join(dir, META)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Starts a profile in `dir` (created 0700 if missing), under the key file when `secrets`
   * names one, else the passphrase. CliError if `dir` already holds a profile.
   */
  static async create(dir: string, secrets: ProfileSecrets): Promise<ProfileStore> {
    const protection: Protection = secrets.keyFile !== undefined ? "key-file" : "passphrase";
    const passphrase = secrets.passphrase?.normalize("NFC") ?? "";
    // Only new profiles: an existing one keeps opening with the passphrase it was made with.
    if (protection === "passphrase" && passphrase !== "") {
      const length = [...passphrase].length;
      if (length < MIN_PASSPHRASE_CHARS) {
        throw new UsageError(
          `SHROUD_PASSPHRASE must have at least ${MIN_PASSPHRASE_CHARS} characters, got ${length}: ` +
            "anyone with the profile's files can try guesses offline (or use --key-file FILE)",
        );
      }
    }
    const header: Header = {
      protection,
      salt: new Uint8Array(nodeRandomBytes(SALT_LENGTH)),
      scrypt: DEFAULT_SCRYPT,
      check: new Uint8Array(0),
    };
    // Derive first: a missing secret should cost nothing on disk.
    const key = await deriveKey(header, secrets);
    try {
      await mkdir(join(dir, GROUPS), { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    } catch {
      throw new CliError(`cannot create the profile directory ${dir}`);
    }
    const lockPath = await lock(dir);
    if (await ProfileStore.exists(dir)) {
      await unlink(lockPath).catch(() => undefined);
      throw new CliError(`${dir} already holds a profile; not overwriting it`);
    }
    header.check = seal(key, "check", new Uint8Array(0));
    await writeFileAtomic(join(dir, META), headerToJson(header), 0o600);
    return new ProfileStore(dir, key, lockPath);
  }

  /**
   * Opens the profile in `dir` and checks the secret against its header: CliError "cannot
   * decrypt the profile: wrong passphrase or key file" when it does not match.
   */
  static async open(dir: string, secrets: ProfileSecrets): Promise<ProfileStore> {
    const metaPath = join(dir, META);
    let text: string;
    try {
      text = await readFile(metaPath, "utf8");
    } catch {
      throw new CliError(`no profile in ${dir} (make one with \`shroud profile create\`)`);
    }
    const header = headerFromJson(text, metaPath);
    const key = await deriveKey(header, secrets);
    if (!unseal(key, "check", header.check)) throw new CliError(WRONG_SECRET);
    return new ProfileStore(dir, key, await lock(dir));
  }

  #path(file: ProfileFile): string {
    if (file === "profile") return join(this.dir, PROFILE);
    if (file === "tokens") return join(this.dir, TOKENS);
    if (!/^[0-9a-f]{32}$/.test(file.group)) throw new CliError("the profile is damaged");
    return join(this.dir, GROUPS, `${file.group}.enc`);
  }

  /** Decrypts one file; CliError when it is missing or does not authenticate. */
  async read(file: ProfileFile): Promise<string> {
    const path = this.#path(file);
    let sealed: Uint8Array;
    try {
      sealed = new Uint8Array(await readFile(path));
    } catch {
      throw new CliError(`the profile is incomplete: ${path} is missing`);
    }
    const plain = unseal(this.#key, file, sealed);
    if (!plain) throw new CliError(`${path} is damaged or was modified (it does not decrypt)`);
    const text = new TextDecoder().decode(plain);
    plain.fill(0);
    return text;
  }

  /** Decrypts one file, or undefined when there is none (CliError when it does not decrypt). */
  async readIfPresent(file: ProfileFile): Promise<string | undefined> {
    const present = await access(this.#path(file)).then(
      () => true,
      () => false,
    );
    return present ? this.read(file) : undefined;
  }

  /** Encrypts and atomically replaces one file. */
  async write(file: ProfileFile, text: string): Promise<void> {
    const plain = utf8(text);
    const sealed = seal(this.#key, file, plain);
    plain.fill(0);
    await writeFileAtomic(this.#path(file), sealed, 0o600);
  }

  /** Releases the lock and forgets the key; the store cannot be used afterwards. */
  async close(): Promise<void> {
    this.#key.expose().fill(0);
    const lockPath = this.#lockPath;
    this.#lockPath = undefined;
    if (lockPath) await unlink(lockPath).catch(() => undefined);
  }

  toString(): string {
    return "ProfileStore([secret])";
  }
}
