/**
 * One serving process per data directory: `DIR/serve.lock` holds the pid of the relay that
 * serves it. The embedded stores close rounds on a timer in their own process and the memory
 * store renews keys at start, so a second relay on the same directory would close rounds twice
 * as often and fight over keys; it is refused at start instead. `serve --workers N` on the
 * SQLite store takes the lock in its own process and its workers share it (joinDataDirLock);
 * they close rounds through the file's lease. `shroud keys rotate` and `shroud federation dlq`
 * do not take the lock: they work beside a serving relay.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../protocol/errors.js";

/** The lock file's name in the data directory. */
export const LOCK_FILE_NAME = "serve.lock";

/** Lock files this process holds, so that a second relay in this process is refused too. */
const held = new Set<string>();

/** Whether a process with this pid runs (and is not this one: a restarted container's pid 1). */
function otherProcessRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock on `dataDir` for this process; a lock left by a process that no longer runs
 * (a crash, SIGKILL) is taken over. Throws ConfigError naming the pid when another relay holds
 * it. Returns the function that releases it.
 *
 * @example const release = lockDataDir(".shroud"); // ... serve ...; release();
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE_NAME);
  if (held.has(path)) {
    throw new ConfigError(`the data directory ${dataDir} is in use by a relay in this process`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new ConfigError(`cannot lock the data directory ${dataDir}`);
      }
      const text = readLock(path);
      const holder = Number(text);
      // Empty: a relay starting this moment has not written its pid yet.
      if (otherProcessRuns(holder) || (text === "" && justCreated(path))) {
        throw new ConfigError(
          `the data directory ${dataDir} is in use by another shroud serve (pid ${text || "starting"}); ` +
            `stop it first, or delete ${path} if no relay runs`,
        );
      }
      removeLock(path);
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    held.add(path);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(path);
      if (Number(readLock(path)) === process.pid) removeLock(path);
    };
  }
  throw new ConfigError(
    `cannot lock the data directory ${dataDir}: another process keeps taking it`,
  );
}

/**
 * For one of several relay processes serving `dataDir` together (`serve --workers N` on the
 * SQLite store): checks that the lock is held by this process's parent, the `serve` that
 * started it, instead of taking it. ConfigError when another process holds it, or none does.
 *
 * @example joinDataDirLock(".shroud"); // in a worker process
 */
export function joinDataDirLock(dataDir: string): void {
  const holder = Number(readLock(join(dataDir, LOCK_FILE_NAME)));
  if (holder !== process.ppid) {
    throw new ConfigError(
      `the data directory ${dataDir} is not locked by this relay's serve process (pid ${process.ppid})`,
    );
  }
}

function justCreated(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 5000;
  } catch {
    return false;
  }
}

function readLock(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function removeLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already: another process took it over or released it.
  }
}
