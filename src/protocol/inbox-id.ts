/**
 * Capability derivations (protocol v2). An inbox id commits to both halves of the inbox's
 * capabilities: the read id (a hash of the read secret) and the hash of the write token. A
 * deposit names the read id and carries the write token; a fetch carries the read secret and the
 * token hash; the relay recomputes the id from either. A wrong write token therefore names a
 * different inbox instead of being refused by (or locking) the real one, and the relay keeps no
 * token at all.
 *
 *   read_id    = SHA-256("shroud/v2 read id"     || 0x00 || read_secret)
 *   token_hash = SHA-256("shroud/v2 write token" || 0x00 || write_token)
 *   inbox_id   = SHA-256("shroud/v2 inbox id"    || 0x00 || read_id || token_hash)
 */
import { concat, utf8 } from "./bytes.js";
import { activeHpkePrimitives } from "./hpke-suite.js";
import { Labels } from "./labels.js";

/** Length of read secrets, read ids, write tokens, token hashes and inbox ids. */
export const CAPABILITY_LENGTH = 32;

function labeledHash(label: string, ...values: Uint8Array[]): Promise<Uint8Array> {
  return activeHpkePrimitives().sha256(concat(utf8(label), new Uint8Array([0]), ...values));
}

/**
 * What a sender names an inbox by: it lets the relay find the inbox, never read it.
 *
 * @example const readId = await readIdFor(readSecret);
 */
export function readIdFor(readSecret: Uint8Array): Promise<Uint8Array> {
  return labeledHash(Labels.readId, readSecret);
}

/** The hash of a write token, which a reader sends so the relay can recompute the inbox id. */
export function writeTokenHash(writeToken: Uint8Array): Promise<Uint8Array> {
  return labeledHash(Labels.writeToken, writeToken);
}

/**
 * The inbox id the relay stores an inbox under.
 *
 * @example const inboxId = await inboxIdOf(readId, await writeTokenHash(writeToken));
 */
export function inboxIdOf(readId: Uint8Array, tokenHash: Uint8Array): Promise<Uint8Array> {
  return labeledHash(Labels.inboxId, readId, tokenHash);
}

/** Every public value of an inbox's capabilities, derived from its two secrets. */
export interface InboxAddress {
  readId: Uint8Array;
  writeTokenHash: Uint8Array;
  inboxId: Uint8Array;
}

/**
 * @example const { readId, writeTokenHash, inboxId } = await inboxAddress(readSecret, writeToken);
 */
export async function inboxAddress(
  readSecret: Uint8Array,
  writeToken: Uint8Array,
): Promise<InboxAddress> {
  const [readId, tokenHash] = await Promise.all([
    readIdFor(readSecret),
    writeTokenHash(writeToken),
  ]);
  return { readId, writeTokenHash: tokenHash, inboxId: await inboxIdOf(readId, tokenHash) };
}
