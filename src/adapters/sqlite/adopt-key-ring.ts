import { rotateKeyRing } from "../../relay/key-ring.js";
import type { KeyStore } from "../../relay/ports/key-store.js";

/**
 * Moves a relay's identity onto the SQLite store the first time it starts there: if `target`
 * holds no key ring and `source` (keys.json of the in-memory store) does, the ring is copied
 * with its signing key (the relay's identity, which peers and clients know) and fresh HPKE keys.
 * The old HPKE keys are not kept: the records that guarded them against replays lived in the
 * old process's memory. True if a ring was adopted; `source` is left as it was.
 *
 * @example await adoptKeyRing(sqliteKeys, new FileKeyStore(dataDir), Date.now());
 */
export async function adoptKeyRing(
  target: KeyStore,
  source: KeyStore,
  now: number,
): Promise<boolean> {
  if (await target.load()) return false;
  const old = await source.load();
  if (!old) return false;
  await target.create((await rotateKeyRing(old, now, 0)).ring);
  return true;
}
