/**
 * What an inviter deposits in a joiner's personal inbox (HPKE-sealed to its inbox key, like any
 * personal payload): where the group's inboxes live and where its MLS Welcome is stored once for
 * all the joiners of the commit (welcome-blob.ts). An invitation has the same size whatever the
 * group's size.
 *
 *   enum { invitation(1), (255) } PersonalMessageKind;
 *
 *   struct {
 *     PersonalMessageKind kind;     // invitation
 *     opaque group_name<V>;         // the inviter's name for the group (UTF-8, <= 64 bytes)
 *     opaque group_relay<V>;        // origin of the relay holding the group's epoch inboxes
 *     opaque relay_signing_key<V>;  // that relay's descriptor key (32 bytes), or empty
 *     opaque key_package_hash[32];  // SHA-256("shroud/v1 key package" || 0x00 || KeyPackage)
 *     WelcomeBlob welcome;          // where the MLSMessage (mls_welcome) is, on group_relay
 *   } GroupInvitation;
 */
import { asBytes, concat, utf8 } from "../../protocol/bytes.js";
import {
  decode,
  encode,
  enumeration,
  fixedBytes,
  opaque,
  struct,
  uint8,
  utf8String,
  type Codec,
} from "../../protocol/codec.js";
import { Labels } from "../../protocol/labels.js";
import { welcomeBlobCodec, type WelcomeBlob } from "./welcome-blob.js";

export const PersonalMessageKind = { invitation: 1 } as const;
export type PersonalMessageKind = (typeof PersonalMessageKind)[keyof typeof PersonalMessageKind];

/** An invitation as its joiner reads it from a personal inbox: group, relay and Welcome's blob. */
export interface GroupInvitation {
  kind: PersonalMessageKind;
  groupName: string;
  groupRelay: string;
  relaySigningKey: Uint8Array;
  keyPackageHash: Uint8Array;
  welcome: WelcomeBlob;
}

export const groupInvitationCodec: Codec<GroupInvitation> = struct({
  kind: enumeration(uint8, PersonalMessageKind),
  groupName: utf8String(64),
  groupRelay: utf8String(2048),
  relaySigningKey: opaque(64),
  keyPackageHash: fixedBytes(32),
  welcome: welcomeBlobCodec,
});

/** Names a key package (its MLS encoding) so a joiner knows which private keys to use. */
export async function keyPackageHash(encodedKeyPackage: Uint8Array): Promise<Uint8Array> {
  const input = concat(utf8(Labels.keyPackageHash), new Uint8Array([0]), encodedKeyPackage);
  return asBytes(await crypto.subtle.digest("SHA-256", input));
}

export function encodeInvitation(invitation: GroupInvitation): Uint8Array {
  return encode(groupInvitationCodec, invitation);
}

/** Decodes an invitation; DecodeError if the bytes are not one. */
export function decodeInvitation(bytes: Uint8Array): GroupInvitation {
  return decode(groupInvitationCodec, bytes);
}
