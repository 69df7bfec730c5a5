/**
 * The one place Shroud reaches past ts-mls's public API: reading who sent a PrivateMessage (leaf
 * index and ratchet generation) before processing it, to put a sender's messages back in order
 * and to name the sender. That needs the sender-data secret of the message's epoch and ts-mls's
 * internal decryptSenderData. ts-mls is pinned to one exact version in package.json, and
 * test/mls/sender-data.test.ts checks these internals against it: an upgrade that moves them
 * fails there first.
 */
import { decodeMlsMessage, type ClientState, type PrivateMessage, type RatchetTree } from "ts-mls";
import { decryptSenderData } from "ts-mls/privateMessage.js";
import { mlsSuite } from "./mls-suite.js";

export interface MessageSender {
  leafIndex: number;
  generation: number;
  /** The tree of the message's epoch, in which `leafIndex` names the sender. */
  tree: RatchetTree;
  /** Whether the message is of an epoch before the state's current one. */
  past: boolean;
}

/**
 * The sender of `message` as `state` can read it, or undefined: a later epoch, an earlier one
 * whose keys the state no longer keeps, or sender data that does not open.
 *
 * @example
 * const from = await senderOf(state, privateMessage); // { leafIndex: 2, generation: 7, ... }
 */
export async function senderOf(
  state: ClientState,
  message: PrivateMessage,
): Promise<MessageSender | undefined> {
  const epoch = state.groupContext.epoch;
  if (message.epoch > epoch) return undefined;
  const past = message.epoch < epoch;
  const receiver = past ? state.historicalReceiverData.get(message.epoch) : undefined;
  const secret = past ? receiver?.senderDataSecret : state.keySchedule.senderDataSecret;
  if (!secret) return undefined;
  try {
    const data = await decryptSenderData(message, secret, await mlsSuite());
    if (!data) return undefined;
    return {
      leafIndex: data.leafIndex,
      generation: data.generation,
      tree: receiver ? receiver.ratchetTree : state.ratchetTree,
      past,
    };
  } catch {
    return undefined;
  }
}

/** The PrivateMessage an MLSMessage carries, or undefined for anything else or malformed bytes. */
export function decodePrivateMessage(bytes: Uint8Array): PrivateMessage | undefined {
  try {
    const decoded = decodeMlsMessage(bytes, 0);
    if (decoded?.[0].wireformat === "mls_private_message") return decoded[0].privateMessage;
  } catch {
    // malformed: reported as unreadable by the caller
  }
  return undefined;
}
