/**
 * ts-mls alone, without Shroud around it: the cost of an add commit and of encrypting and
 * decrypting one application message, on copies of bench sessions' MLS states (decoded from
 * GroupSession.toJson, the way a saved session is restored). The copies are bench-only: they
 * reuse the sessions' ratchet positions, so they are measured last and thrown away.
 */
import {
  createApplicationMessage,
  createCommit,
  decodeGroupState,
  encodeMlsMessage,
  makePskIndex,
  processPrivateMessage,
  type ClientState,
  type Proposal,
} from "ts-mls";
import type { ContactCard } from "../../src/client/inbox.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { decodeKeyPackage } from "../../src/client/mls/member.js";
import { mlsClientConfig, mlsSuite } from "../../src/client/mls/mls-suite.js";
import { fromBase64Url, randomBytes } from "../../src/protocol/bytes.js";

/** A copy of a session's MLS state (private keys included), with the client config re-attached. */
export function stateCopy(session: GroupSession): ClientState {
  const saved = JSON.parse(session.toJson()) as { state: string };
  const decoded = decodeGroupState(fromBase64Url(saved.state), 0);
  if (!decoded) throw new Error("bench: session state did not decode");
  return { ...decoded[0], clientConfig: mlsClientConfig };
}

export interface AddCommitCost {
  /** createCommit with one add proposal per card (ratchet tree extension on, as Shroud does). */
  ms: number;
  commitBytes: number;
  welcomeBytes: number;
}

/** Times ts-mls createCommit adding every card's first key package to `state`. */
export async function addCommitCost(
  state: ClientState,
  cards: readonly ContactCard[],
): Promise<AddCommitCost> {
  const suite = await mlsSuite();
  const proposals: Proposal[] = cards.map((card) => ({
    proposalType: "add",
    add: { keyPackage: decodeKeyPackage(card.keyPackages![0]!) },
  }));
  const started = performance.now();
  const result = await createCommit(
    { state, cipherSuite: suite },
    { extraProposals: proposals, ratchetTreeExtension: true },
  );
  const ms = performance.now() - started;
  const welcome = result.welcome
    ? encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: result.welcome })
    : new Uint8Array(0);
  return { ms, commitBytes: encodeMlsMessage(result.commit).length, welcomeBytes: welcome.length };
}

export interface MessageCost {
  /** createApplicationMessage per message, ms, in order. */
  encryptMs: number[];
  /** processPrivateMessage per message at one receiver, ms (empty without a receiver). */
  decryptMs: number[];
  /** Encoded PrivateMessage size. */
  messageBytes: number;
}

/** Encrypts `count` messages of `size` bytes at `sender`, each decrypted at `receiver` if given. */
export async function messageCost(
  sender: ClientState,
  receiver: ClientState | undefined,
  count: number,
  size: number,
): Promise<MessageCost> {
  const suite = await mlsSuite();
  const encryptMs: number[] = [];
  const decryptMs: number[] = [];
  let messageBytes = 0;
  let from = sender;
  let to = receiver;
  for (let i = 0; i < count; i++) {
    const data = randomBytes(size);
    const t0 = performance.now();
    const sent = await createApplicationMessage(from, data, suite);
    encryptMs.push(performance.now() - t0);
    from = sent.newState;
    messageBytes = encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_private_message",
      privateMessage: sent.privateMessage,
    }).length;
    if (!to) continue;
    const t1 = performance.now();
    const got = await processPrivateMessage(to, sent.privateMessage, makePskIndex(to, {}), suite);
    decryptMs.push(performance.now() - t1);
    if (got.kind !== "applicationMessage") throw new Error("bench: expected application data");
    to = got.newState;
  }
  return { encryptMs, decryptMs, messageBytes };
}
