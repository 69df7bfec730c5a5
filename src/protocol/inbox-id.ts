/**
 * Capability derivations. An inbox is addressed by a hash of its read secret, so the id can be
 * shared with the relay without granting reads; the relay keeps only a hash of the write token.
 */
import { asBytes, concat, utf8 } from "./bytes.js";
import { Labels } from "./labels.js";

/** Length of read secrets, write tokens and inbox ids. */
export const CAPABILITY_LENGTH = 32;

async function labeledHash(label: string, value: Uint8Array): Promise<Uint8Array> {
  const input = concat(utf8(label), new Uint8Array([0]), value);
  return asBytes(await crypto.subtle.digest("SHA-256", input));
}

/**
 * inbox_id = SHA-256("shroud/v1 inbox id" || 0x00 || read_secret).
 *
 * @example const inboxId = await inboxIdFor(readSecret);
 */
export function inboxIdFor(readSecret: Uint8Array): Promise<Uint8Array> {
  return labeledHash(Labels.inboxId, readSecret);
}

/** SHA-256("shroud/v1 write token" || 0x00 || write_token): all the relay keeps of a token. */
export function writeTokenHash(writeToken: Uint8Array): Promise<Uint8Array> {
  return labeledHash(Labels.writeToken, writeToken);
}
