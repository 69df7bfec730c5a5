/**
 * What a group inbox holds: an MLS message sealed under the epoch's payload key, so the relay
 * stores no group id, epoch or content type (the cleartext header of an MLS PrivateMessage).
 *
 *   struct {
 *     opaque message_id[16];   // the deposit's message id: members skip their own messages
 *     opaque mls_message<V>;   // an MLSMessage (a PrivateMessage: application data or commit)
 *   } GroupMessage;
 *
 *   SealedGroupPayload = nonce[12] || AES-256-GCM(payload_key, nonce, Padded(GroupMessage),
 *                                      aad = "shroud/v1 group payload" || 0x00 || inbox_id)
 *
 * The sender pads GroupMessage so the whole deposit fills a request bucket. A GroupMessage too
 * large for one deposit goes as Fragments of its encoding (fragment.ts), each sealed the same way
 * with aad = "shroud/v1 group fragment" || 0x00 || inbox_id.
 */
import { asBytes, concat, randomBytes, utf8 } from "../../protocol/bytes.js";
import { decode, encode, fixedBytes, opaque, struct, type Codec } from "../../protocol/codec.js";
import { CryptoError, DecodeError } from "../../protocol/errors.js";
import { Labels } from "../../protocol/labels.js";
import type { PaddingPolicy } from "../../protocol/padding-policy.js";
import { MESSAGE_ID_LENGTH } from "../../protocol/relay-request.js";
import { decodeFragment, type OpenedItem } from "../fragment.js";
import type { PayloadPart } from "../payload-seal.js";
import type { EpochInbox } from "./epoch-inbox.js";

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** Bytes sealing adds around a padded GroupMessage. */
export const GROUP_SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

export interface GroupMessage {
  messageId: Uint8Array;
  mlsMessage: Uint8Array;
}

export const groupMessageCodec: Codec<GroupMessage> = struct({
  messageId: fixedBytes(MESSAGE_ID_LENGTH),
  mlsMessage: opaque(),
});

function aad(inboxId: Uint8Array, part: Exclude<PayloadPart, "drop">): Uint8Array<ArrayBuffer> {
  const label = part === "fragment" ? Labels.groupFragment : Labels.groupPayload;
  return concat(utf8(label), new Uint8Array([0]), inboxId);
}

async function aesKey(payloadKey: Uint8Array, use: KeyUsage): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new Uint8Array(payloadKey), "AES-GCM", false, [use]);
}

/**
 * Seals an already padded GroupMessage (see RelayClient.padPayload) for one epoch inbox.
 *
 * @example
 * const padded = client.padPayload(encode(groupMessageCodec, message), GROUP_SEAL_OVERHEAD);
 * const payload = await sealGroupPayload(epoch.payloadKey.expose(), epoch.inboxId, padded);
 */
export async function sealGroupPayload(
  payloadKey: Uint8Array,
  inboxId: Uint8Array,
  padded: Uint8Array,
  part: Exclude<PayloadPart, "drop"> = "message",
): Promise<Uint8Array> {
  const nonce = randomBytes(NONCE_LENGTH);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aad(inboxId, part) },
    await aesKey(payloadKey, "encrypt"),
    new Uint8Array(padded),
  );
  return concat(nonce, asBytes(ciphertext));
}

/** Opens a group inbox item; CryptoError if it was not sealed under this epoch's key. */
export async function openGroupPayload(
  payloadKey: Uint8Array,
  inboxId: Uint8Array,
  payload: Uint8Array,
  padding: PaddingPolicy,
): Promise<GroupMessage> {
  return decode(
    groupMessageCodec,
    await openGroupPart(payloadKey, inboxId, payload, padding, "message"),
    padding.largest,
  );
}

/**
 * Opens a group inbox item sealed as `part` and returns its unpadded bytes; CryptoError if it
 * was not sealed under this epoch's key as that part.
 */
export async function openGroupPart(
  payloadKey: Uint8Array,
  inboxId: Uint8Array,
  payload: Uint8Array,
  padding: PaddingPolicy,
  part: Exclude<PayloadPart, "drop">,
): Promise<Uint8Array> {
  if (payload.length < GROUP_SEAL_OVERHEAD) throw new DecodeError("group payload too short");
  let padded: Uint8Array;
  try {
    padded = asBytes(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: payload.slice(0, NONCE_LENGTH),
          additionalData: aad(inboxId, part),
        },
        await aesKey(payloadKey, "decrypt"),
        payload.slice(NONCE_LENGTH),
      ),
    );
  } catch (cause) {
    throw new CryptoError("group payload did not open", { cause });
  }
  return padding.unpad(padded);
}

/** Encodes a GroupMessage (before padding). */
export function encodeGroupMessage(message: GroupMessage): Uint8Array {
  return encode(groupMessageCodec, message);
}

/** A group inbox item opened as a whole GroupMessage, else as a fragment, else unreadable. */
export async function openGroupItem(
  reading: Pick<EpochInbox, "inboxId" | "payloadKey">,
  item: { seq: number; payload: Uint8Array },
  padding: PaddingPolicy,
): Promise<OpenedItem<GroupMessage>> {
  const { seq, payload } = item;
  const key = reading.payloadKey.expose();
  try {
    return {
      seq,
      payload,
      whole: await openGroupPayload(key, reading.inboxId, payload, padding),
    };
  } catch {
    // not a whole message: perhaps a fragment of one
  }
  try {
    const bytes = await openGroupPart(key, reading.inboxId, payload, padding, "fragment");
    return { seq, payload, fragment: decodeFragment(bytes) };
  } catch {
    return { seq, payload };
  }
}
