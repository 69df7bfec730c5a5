/**
 * A commit's MLS Welcome, stored once for all of its joiners. The Welcome of an add of k members
 * holds the ratchet tree and one encrypted secret per joiner, so it grows with both the group and
 * k; sending it whole to every joiner made an add of 999 members cost 999 copies of a 0.5 MB
 * Welcome. Instead the committer deposits it once, in an inbox of its own on the group's relay
 * (random capabilities, sealed like a group payload under a random key, in fragments when it is
 * larger than one deposit), and each joiner's invitation carries only what reads it:
 *
 *   struct {
 *     opaque read_secret[32];       // the blob inbox's read secret
 *     opaque write_token_hash[32];  // the hash of its write token (joiners cannot write to it)
 *     opaque payload_key[32];       // AES-256-GCM key the Welcome is sealed under
 *   } WelcomeBlob;
 *
 * The blob holds one GroupMessage whose mls_message is the Welcome. The committer deposits it
 * before its commit, so by the time the commit has won and the invitations leave, the relay has
 * released the blob: a joiner finds it complete unless it has expired. A commit that loses its
 * epoch leaves its blob unread until the relay's retention removes it. Joiners never acknowledge
 * the blob (that would delete it for the others); it goes with retention as well.
 */
import { randomBytes } from "../../protocol/bytes.js";
import { fixedBytes, struct, type Codec } from "../../protocol/codec.js";
import { TransportError } from "../../protocol/errors.js";
import { inboxAddress, inboxIdOf, readIdFor } from "../../protocol/inbox-id.js";
import { MESSAGE_ID_LENGTH } from "../../protocol/relay-request.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import type { RelayClient } from "../relay-client.js";
import { readEntries } from "./epoch-reader.js";
import type { OutboxEntry } from "./group-record.js";
import { outboxEntries, sealGroupMessage } from "./outbox.js";

const KEY_LENGTH = 32;

/** What an invitation carries to read its Welcome: read, never write. */
export interface WelcomeBlob {
  readSecret: SecretBytes;
  writeTokenHash: Uint8Array;
  payloadKey: SecretBytes;
}

export const welcomeBlobCodec: Codec<WelcomeBlob> = (() => {
  const wire = struct({
    readSecret: fixedBytes(KEY_LENGTH),
    writeTokenHash: fixedBytes(KEY_LENGTH),
    payloadKey: fixedBytes(KEY_LENGTH),
  });
  return {
    size: () => 3 * KEY_LENGTH,
    write: (value, writer) =>
      wire.write(
        {
          readSecret: value.readSecret.expose(),
          writeTokenHash: value.writeTokenHash,
          payloadKey: value.payloadKey.expose(),
        },
        writer,
      ),
    read(reader) {
      const value = wire.read(reader);
      return {
        readSecret: new SecretBytes(value.readSecret),
        writeTokenHash: value.writeTokenHash,
        payloadKey: new SecretBytes(value.payloadKey),
      };
    },
  };
})();

/** A stored Welcome: the reference its invitations carry and the deposits that store it. */
export interface StoredWelcome {
  blob: WelcomeBlob;
  /** The blob's deposits (to the group's relay), in order, to send before the commit. */
  deposits: OutboxEntry[];
}

/**
 * Seals an encoded MLS Welcome into a new blob inbox on the group's relay, `client` (whose
 * cells or buckets the deposits fill).
 *
 * @example const { blob, deposits } = await storeWelcome(client, encodedWelcome);
 */
export async function storeWelcome(
  client: RelayClient,
  welcome: Uint8Array,
): Promise<StoredWelcome> {
  const readSecret = new SecretBytes(randomBytes(KEY_LENGTH));
  const writeToken = new SecretBytes(randomBytes(KEY_LENGTH));
  const payloadKey = new SecretBytes(randomBytes(KEY_LENGTH));
  const address = await inboxAddress(readSecret.expose(), writeToken.expose());
  const messageId = randomBytes(MESSAGE_ID_LENGTH);
  const payloads = await sealGroupMessage(
    client,
    { inboxId: address.inboxId, payloadKey },
    welcome,
    messageId,
  );
  return {
    blob: { readSecret, writeTokenHash: address.writeTokenHash, payloadKey },
    deposits: await outboxEntries(
      { relay: client.origin, readId: address.readId, writeToken },
      messageId,
      payloads,
    ),
  };
}

/**
 * The Welcome a blob holds, from the group's relay: its first complete message. Undefined while
 * the relay has not released all of it yet (or no longer has it); TransportError when the relay
 * does not answer.
 *
 * @example const welcome = await loadWelcome(await deps.route(invitation.groupRelay), blob);
 */
export async function loadWelcome(
  client: RelayClient,
  blob: WelcomeBlob,
): Promise<Uint8Array | undefined> {
  const page = await client.fetchAllItems(blob);
  if (page.status === "internal" || page.status === "unavailable") {
    throw new TransportError(`the Welcome's fetch failed (${page.status})`);
  }
  if (page.status !== "ok") return undefined;
  const inboxId = await inboxIdOf(await readIdFor(blob.readSecret.expose()), blob.writeTokenHash);
  const entries = await readEntries(
    client,
    { inboxId, payloadKey: blob.payloadKey },
    page.items,
    0,
  );
  for (const entry of entries) {
    if ("message" in entry) return entry.message.mlsMessage;
  }
  return undefined;
}
