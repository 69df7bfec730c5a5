/**
 * A group's inbox for one MLS epoch. Every member of the epoch derives the same read secret,
 * write token and payload key from the MLS exporter, so the group needs no shared inbox state and
 * the relay cannot link one epoch's inbox to the next; a member removed by the commit that ends
 * an epoch never learns the next epoch's exporter secret, so never the next inbox.
 *
 *   read_secret = MLS-Exporter("shroud/v1 group read secret", group_relay, 32)
 *   write_token = MLS-Exporter("shroud/v1 group write token", group_relay, 32)
 *   payload_key = MLS-Exporter("shroud/v1 group payload key", group_relay, 32)
 *   inbox_id    = derived from read_secret and write_token (src/protocol/inbox-id.ts)
 *
 * group_relay is the UTF-8 origin of the relay holding the group's inboxes.
 */
import { mlsExporter, type ClientState } from "ts-mls";
import { utf8 } from "../../protocol/bytes.js";
import { inboxAddress } from "../../protocol/inbox-id.js";
import { Labels } from "../../protocol/labels.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import { mlsSuite } from "./mls-suite.js";

export interface EpochInbox {
  epoch: bigint;
  inboxId: Uint8Array;
  readId: Uint8Array;
  readSecret: SecretBytes;
  writeToken: SecretBytes;
  writeTokenHash: Uint8Array;
  payloadKey: SecretBytes;
}

/**
 * The current epoch's inbox for a member's state.
 *
 * @example const inbox = await epochInbox(state, "https://a.example");
 */
export async function epochInbox(state: ClientState, groupRelay: string): Promise<EpochInbox> {
  const suite = await mlsSuite();
  const context = utf8(groupRelay);
  const secret = async (label: string) =>
    new SecretBytes(await mlsExporter(state.keySchedule.exporterSecret, label, context, 32, suite));
  const readSecret = await secret(Labels.groupReadSecret);
  const writeToken = await secret(Labels.groupWriteToken);
  return {
    epoch: state.groupContext.epoch,
    ...(await inboxAddress(readSecret.expose(), writeToken.expose())),
    readSecret,
    writeToken,
    payloadKey: await secret(Labels.groupPayloadKey),
  };
}
