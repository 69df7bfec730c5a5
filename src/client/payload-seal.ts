/**
 * Payloads are sealed to the inbox's HPKE public key before deposit, so the relay only ever
 * holds ciphertext it cannot read. The info binds the ciphertext to its inbox.
 *
 *   SealedPayload = enc[32] || HPKE ciphertext of Padded(message)
 */
import { asBytes, concat, utf8 } from "../protocol/bytes.js";
import { CryptoError, DecodeError } from "../protocol/errors.js";
import { hpkeSuite } from "../protocol/hpke-suite.js";
import { Labels } from "../protocol/labels.js";
import type { PaddingPolicy } from "../protocol/padding-policy.js";
import { PAYLOAD_SUITE, type ContactCard, type Inbox } from "./inbox.js";

const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
/** Bytes sealing adds to a padded message. */
export const PAYLOAD_SEAL_OVERHEAD = ENC_LENGTH + TAG_LENGTH;

/**
 * What a sealed payload holds: a whole message, one Fragment of a larger one, or drop cover (a
 * shaping client's deposit into a contact's inbox when it has nothing to send there).
 */
export type PayloadPart = "message" | "fragment" | "drop";

const PART_LABELS = {
  message: Labels.inboxPayload,
  fragment: Labels.inboxFragment,
  drop: Labels.inboxDrop,
} as const;

function info(inboxId: Uint8Array, part: PayloadPart): Uint8Array<ArrayBuffer> {
  const label = PART_LABELS[part];
  return concat(utf8(label), new Uint8Array([0]), inboxId);
}

/**
 * Pads and seals a message for an inbox. `overhead` is what the caller adds around the sealed
 * payload before the result must be a bucket size.
 */
export async function sealPayload(
  card: ContactCard,
  message: Uint8Array,
  padding: PaddingPolicy,
  overhead: number,
  minBucket = 0,
  part: PayloadPart = "message",
): Promise<Uint8Array> {
  const padded = padding.pad(message, overhead + PAYLOAD_SEAL_OVERHEAD, minBucket);
  return sealPadded(card, padded, part);
}

/**
 * Seals an already padded payload for an inbox: what sealPayload does after padding.
 * `ephemeralKeyMaterial` fixes HPKE's ephemeral key (RFC 9180 DeriveKeyPair input) and is for
 * known-answer tests only: a payload sealed twice under one ephemeral key shares its secret.
 *
 * @example
 * const payload = await sealPadded(card, padding.pad(message, 149 + PAYLOAD_SEAL_OVERHEAD));
 */
export async function sealPadded(
  card: Pick<ContactCard, "publicKey" | "inboxId">,
  padded: Uint8Array,
  part: PayloadPart = "message",
  ephemeralKeyMaterial?: Uint8Array,
): Promise<Uint8Array> {
  const suite = hpkeSuite(PAYLOAD_SUITE);
  const recipientPublicKey = await suite.kem.deserializePublicKey(card.publicKey);
  const { enc, ct } = await suite.seal(
    {
      recipientPublicKey,
      info: info(card.inboxId, part),
      ...(ephemeralKeyMaterial ? { ekm: ephemeralKeyMaterial } : {}),
    },
    padded,
  );
  return concat(asBytes(enc), asBytes(ct));
}

/**
 * Opens a payload fetched from the inbox; CryptoError if it was not sealed to this inbox as
 * `part`.
 */
export async function openPayload(
  inbox: Inbox,
  payload: Uint8Array,
  padding: PaddingPolicy,
  part: PayloadPart = "message",
): Promise<Uint8Array> {
  if (payload.length < PAYLOAD_SEAL_OVERHEAD) throw new DecodeError("payload too short");
  const suite = hpkeSuite(PAYLOAD_SUITE);
  let padded: Uint8Array;
  try {
    const recipientKey = await suite.kem.deserializePrivateKey(inbox.privateKey.expose());
    padded = asBytes(
      await suite.open(
        { recipientKey, enc: payload.subarray(0, ENC_LENGTH), info: info(inbox.inboxId, part) },
        payload.subarray(ENC_LENGTH),
      ),
    );
  } catch (cause) {
    throw new CryptoError("payload did not open", { cause });
  }
  return padding.unpad(padded);
}
