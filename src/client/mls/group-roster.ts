/**
 * Members as a ratchet tree names them. A member's name is its basic credential's identity, which
 * whoever made its key package chose: it is decoded leniently and used for display and for
 * matching the names a change asks for, never for authentication.
 */
import type { ClientState, RatchetTree } from "ts-mls";
import { lenientUtf8 } from "./group-record.js";

/** The name at a leaf (`leaf N` when the leaf is blank or its credential is not a basic one). */
export function nameOf(tree: RatchetTree, leafIndex: number): string {
  const node = tree[leafIndex * 2];
  if (node?.nodeType !== "leaf") return `leaf ${leafIndex}`;
  const { credential } = node.leaf;
  return credential.credentialType === "basic"
    ? lenientUtf8.decode(credential.identity)
    : `leaf ${leafIndex}`;
}

/** Each present member's name with its leaf index, in leaf order. */
export function memberLeaves(state: ClientState): Map<string, number> {
  const present = new Map<string, number>();
  for (let leaf = 0; leaf * 2 < state.ratchetTree.length; leaf++) {
    if (state.ratchetTree[leaf * 2]) present.set(nameOf(state.ratchetTree, leaf), leaf);
  }
  return present;
}

/** Names of the present members, in leaf order (a name given twice is listed twice). */
export function memberNames(state: ClientState): string[] {
  const names: string[] = [];
  for (let leaf = 0; leaf * 2 < state.ratchetTree.length; leaf++) {
    if (state.ratchetTree[leaf * 2]) names.push(nameOf(state.ratchetTree, leaf));
  }
  return names;
}

/** Whether a leaf of an earlier epoch's tree is still the same member (same signature key). */
export function sameMember(
  then: RatchetTree,
  now: RatchetTree,
  leafIndex: number | undefined,
): boolean {
  if (leafIndex === undefined) return false;
  const a = then[leafIndex * 2];
  const b = now[leafIndex * 2];
  if (a?.nodeType !== "leaf" || b?.nodeType !== "leaf") return false;
  const x = a.leaf.signaturePublicKey;
  const y = b.leaf.signaturePublicKey;
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}
