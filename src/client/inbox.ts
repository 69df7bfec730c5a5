/**
 * Inboxes from the owner's side. The private inbox holds the read secret, the write token and
 * the inbox's HPKE private key; the contact card is what the owner shares so others can deposit:
 * the read id (a hash of the read secret), the write token and the public key.
 *
 *   Inbox file (JSON):  { "shroud": "inbox/v2", relay, readSecret, writeToken,
 *                         publicKey, privateKey, relaySigningKey }
 *   Contact card (JSON): { "shroud": "card/v2", relay, readId, writeToken, publicKey,
 *                         relaySigningKey, name, keyPackages }
 * Byte fields are base64url. `relaySigningKey` pins the relay's descriptor key. `name` and
 * `keyPackages` (MLS KeyPackage messages, one per group that may add the owner) are present on
 * a group member's card. The inbox id is derived (see src/protocol/inbox-id.ts), never stored.
 * Version 1 files (whose inbox ids did not commit to the write token) are refused.
 */
import { asBytes, fromBase64Url, toBase64Url } from "../protocol/bytes.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { ConfigError } from "../protocol/errors.js";
import { AeadId, hpkeSuite, KdfId, KemId } from "../protocol/hpke-suite.js";
import {
  CAPABILITY_LENGTH,
  inboxAddress,
  inboxIdOf,
  writeTokenHash,
} from "../protocol/inbox-id.js";
import { SecretBytes } from "../protocol/secret-bytes.js";

/** The suite payloads are sealed with (HPKE base mode to the inbox key). */
export const PAYLOAD_SUITE = {
  kemId: KemId.DhkemX25519HkdfSha256,
  kdfId: KdfId.HkdfSha256,
  aeadId: AeadId.Aes128Gcm,
} as const;

/** What anyone who may deposit needs: no read capability, no private key. */
export interface ContactCard {
  relay: string;
  /** What a deposit names the inbox by (a hash of the read secret). */
  readId: Uint8Array;
  /** The relay's id of the inbox, derived from `readId` and `writeToken` (never sent by a client). */
  inboxId: Uint8Array;
  writeToken: SecretBytes;
  publicKey: Uint8Array;
  relaySigningKey?: Uint8Array;
  /** The owner's name as its MLS credential shows it. */
  name?: string;
  /** Encoded MLS KeyPackage messages; each can be used once to add the owner to a group. */
  keyPackages?: Uint8Array[];
}

/** The owner's inbox: a contact card plus the read secret and private key. */
export interface Inbox extends ContactCard {
  readSecret: SecretBytes;
  /** What a fetch or ack sends beside the read secret, so the relay can find the inbox. */
  writeTokenHash: Uint8Array;
  privateKey: SecretBytes;
}

/**
 * Creates a new inbox on a relay (it comes into being on the relay with its first deposit).
 *
 * @example
 * const inbox = await createInbox("https://relay.example", descriptor.signingKey);
 * const card = contactCard(inbox);
 */
export async function createInbox(relay: string, relaySigningKey?: Uint8Array): Promise<Inbox> {
  const readSecret = SecretBytes.random(CAPABILITY_LENGTH);
  const writeToken = SecretBytes.random(CAPABILITY_LENGTH);
  const suite = hpkeSuite(PAYLOAD_SUITE);
  const pair = await suite.kem.generateKeyPair();
  return {
    relay: normalizeOrigin(relay),
    ...(await inboxAddress(readSecret.expose(), writeToken.expose())),
    readSecret,
    writeToken,
    publicKey: asBytes(await suite.kem.serializePublicKey(pair.publicKey)),
    privateKey: new SecretBytes(asBytes(await suite.kem.serializePrivateKey(pair.privateKey))),
    ...(relaySigningKey ? { relaySigningKey } : {}),
  };
}

/** The shareable part of an inbox. */
export function contactCard(inbox: Inbox): ContactCard {
  const { relay, readId, inboxId, writeToken, publicKey, relaySigningKey } = inbox;
  return {
    relay,
    readId,
    inboxId,
    writeToken,
    publicKey,
    ...(relaySigningKey ? { relaySigningKey } : {}),
  };
}

function pinJson(pin: Uint8Array | undefined): Record<string, string> {
  return pin ? { relaySigningKey: toBase64Url(pin) } : {};
}

/** Serialises a contact card to its JSON form (includes the write token: share with care). */
export function cardToJson(card: ContactCard): string {
  return JSON.stringify(
    {
      shroud: "card/v2",
      relay: card.relay,
      readId: toBase64Url(card.readId),
      writeToken: toBase64Url(card.writeToken.expose()),
      publicKey: toBase64Url(card.publicKey),
      ...pinJson(card.relaySigningKey),
      ...(card.name === undefined ? {} : { name: card.name }),
      ...(card.keyPackages ? { keyPackages: card.keyPackages.map(toBase64Url) } : {}),
    },
    null,
    2,
  );
}

/** Serialises an inbox, secrets included, for a private file (mode 0600). */
export function inboxToJson(inbox: Inbox): string {
  return JSON.stringify(
    {
      shroud: "inbox/v2",
      relay: inbox.relay,
      readSecret: toBase64Url(inbox.readSecret.expose()),
      writeToken: toBase64Url(inbox.writeToken.expose()),
      publicKey: toBase64Url(inbox.publicKey),
      privateKey: toBase64Url(inbox.privateKey.expose()),
      ...pinJson(inbox.relaySigningKey),
    },
    null,
    2,
  );
}

function field(record: Record<string, unknown>, name: string, length?: number): Uint8Array {
  const value = record[name];
  let bytes: Uint8Array;
  try {
    if (typeof value !== "string") throw new TypeError();
    bytes = fromBase64Url(value);
  } catch {
    throw new ConfigError(`field "${name}" must be base64url`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new ConfigError(`field "${name}" must be ${length} bytes`);
  }
  return bytes;
}

function parse(text: string, kind: string): Record<string, unknown> {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    throw new ConfigError(`not a Shroud ${kind} file (invalid JSON)`);
  }
  const format =
    typeof record === "object" && record !== null
      ? (record as { shroud?: unknown }).shroud
      : undefined;
  if (format === `${kind}/v1`) {
    throw new ConfigError(
      `a ${kind} file of Shroud protocol v1, whose inboxes v2 relays no longer serve: ` +
        (kind === "card" ? "ask its owner for a new card" : "create a new inbox"),
    );
  }
  if (format !== `${kind}/v2`) throw new ConfigError(`not a Shroud ${kind} file`);
  const relay = (record as { relay?: unknown }).relay;
  if (typeof relay !== "string") throw new ConfigError(`${kind} file has no relay origin`);
  return record as Record<string, unknown>;
}

function memberFields(record: Record<string, unknown>): Pick<ContactCard, "name" | "keyPackages"> {
  const { name, keyPackages } = record;
  if (name !== undefined && (typeof name !== "string" || name.length === 0 || name.length > 64)) {
    throw new ConfigError('field "name" must be a string of 1 to 64 characters');
  }
  if (keyPackages !== undefined && !Array.isArray(keyPackages)) {
    throw new ConfigError('field "keyPackages" must be a list');
  }
  return {
    ...(name === undefined ? {} : { name }),
    ...(keyPackages === undefined
      ? {}
      : {
          keyPackages: (keyPackages as unknown[]).map((_, i) =>
            field(keyPackages as unknown as Record<string, unknown>, String(i)),
          ),
        }),
  };
}

/** The card fields other than the read id and inbox id. */
function commonFields(record: Record<string, unknown>) {
  const pin =
    record["relaySigningKey"] === undefined ? undefined : field(record, "relaySigningKey", 32);
  return {
    relay: normalizeOrigin(record["relay"] as string),
    writeToken: new SecretBytes(field(record, "writeToken", CAPABILITY_LENGTH)),
    publicKey: field(record, "publicKey", 32),
    ...(pin ? { relaySigningKey: pin } : {}),
    ...memberFields(record),
  };
}

/** Parses a contact card; ConfigError with a clear message when it is not one. */
export async function cardFromJson(text: string): Promise<ContactCard> {
  const record = parse(text, "card");
  const common = commonFields(record);
  const readId = field(record, "readId", CAPABILITY_LENGTH);
  const inboxId = await inboxIdOf(readId, await writeTokenHash(common.writeToken.expose()));
  return { ...common, readId, inboxId };
}

/** Parses a private inbox file; its ids are derived from its secrets. */
export async function inboxFromJson(text: string): Promise<Inbox> {
  const record = parse(text, "inbox");
  const common = commonFields(record);
  const readSecret = new SecretBytes(field(record, "readSecret", CAPABILITY_LENGTH));
  return {
    ...common,
    ...(await inboxAddress(readSecret.expose(), common.writeToken.expose())),
    readSecret,
    privateKey: new SecretBytes(field(record, "privateKey", 32)),
  };
}
