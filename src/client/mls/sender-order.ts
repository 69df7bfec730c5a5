import type { ClientState } from "ts-mls";
import type { GroupMessage } from "./group-payload.js";
import { decodePrivateMessage, senderOf } from "./sender-data.js";

/**
 * Puts each sender's application messages of an epoch back in the order sent (by ratchet
 * generation), keeping the places they occupy: a round reaches the inbox shuffled, and ts-mls
 * keeps only a few skipped generations, so reading a sender's burst out of order would lose
 * messages. Commits and proposals keep their places: the inbox's order decides which commit
 * wins, identically for every member however its pages fell. Items whose sender data does not
 * open here (future epochs, garbage) keep their place.
 *
 * @example const ordered = await inSenderOrder(state, opened); // same length, same commits
 */
export async function inSenderOrder(
  state: ClientState,
  messages: (GroupMessage | undefined)[],
): Promise<(GroupMessage | undefined)[]> {
  const classes = new Map<string, { index: number; generation: number }[]>();
  for (const [index, message] of messages.entries()) {
    if (!message) continue;
    const pm = decodePrivateMessage(message.mlsMessage);
    if (!pm || pm.contentType !== "application") continue;
    const from = await senderOf(state, pm);
    if (!from) continue;
    const key = `${pm.epoch}/${from.leafIndex}`;
    const members = classes.get(key) ?? [];
    members.push({ index, generation: from.generation });
    classes.set(key, members);
  }
  const ordered = [...messages];
  for (const members of classes.values()) {
    const byGeneration = [...members].sort((a, b) => a.generation - b.generation);
    for (const [k, { index }] of members.entries()) {
      ordered[index] = messages[byGeneration[k]!.index];
    }
  }
  return ordered;
}
