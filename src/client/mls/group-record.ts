/**
 * What a GroupSession keeps between calls and across restarts, and its saved form. The group
 * file holds private keys: it is meant for encrypted storage (the CLI's profile).
 *
 *   Group file (JSON): { "shroud": "group/v2", name, relay, relaySigningKey?, removed, state,
 *                        readings: [{ epoch, readSecret, writeToken, payloadKey, cursor }],
 *                        sent, buffered, outbox, pending?, events? }
 *   pending: { messageId, payloads: [...], newState, invitations } (older files: one `payload`)
 * `state` is the ts-mls group state (encodeGroupState); byte fields are base64url; epochs are
 * decimal strings. Outbox entries name their inbox by read id and write token. Version 1 files
 * (protocol v1 inbox ids) are refused.
 */
import { decodeGroupState, encodeGroupState, type ClientState } from "ts-mls";
import { fromBase64Url, toBase64Url } from "../../protocol/bytes.js";
import { ConfigError } from "../../protocol/errors.js";
import { inboxAddress } from "../../protocol/inbox-id.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import type { EpochInbox } from "./epoch-inbox.js";
import { mlsClientConfig } from "./mls-suite.js";

/** What a sync or a change reports. */
export type GroupEvent =
  | { kind: "message"; epoch: bigint; sender: string; data: Uint8Array; text: string }
  | { kind: "commit"; epoch: bigint; committer: string; added: string[]; removed: string[] }
  | { kind: "removed"; epoch: bigint; committer: string }
  | { kind: "unreadable"; reason: string };

/** A deposit waiting to leave, kept until the relay has it (retries reuse the message id). */
export interface OutboxEntry {
  relay: string;
  readId: Uint8Array;
  writeToken: SecretBytes;
  messageId: Uint8Array;
  payload: Uint8Array;
}

/** A commit sent (or about to be) and not yet answered. */
export interface PendingCommit {
  messageId: Uint8Array;
  /** Its deposits: one, or its fragments in order (fragment.ts). */
  payloads: Uint8Array[];
  /** The state createCommit returned, adopted only if the commit wins (encodeGroupState). */
  newState: Uint8Array;
  /** The deposits of its stored Welcome (welcome-blob.ts), sent before the commit; none without adds. */
  welcome: OutboxEntry[];
  /** An invitation naming that Welcome for each added member, sent once the commit has won. */
  invitations: OutboxEntry[];
}

/** An epoch inbox and how far this member has read it. */
export interface Reading extends EpochInbox {
  cursor: number;
}

export interface SavedGroup {
  name: string;
  /** Origin of the relay holding the group's epoch inboxes. */
  relay: string;
  relaySigningKey?: Uint8Array;
  removed: boolean;
  state: ClientState;
  /** Epoch inboxes being read, current first. */
  readings: Reading[];
  /** Hex message ids this member sent (the newest), to skip its own messages. */
  sent: string[];
  /** MLS messages from epochs this member has not reached yet. */
  buffered: Uint8Array[];
  outbox: OutboxEntry[];
  pending?: PendingCommit;
  /** Events read outside sync() that the next sync() returns. */
  events: GroupEvent[];
}

/**
 * Decodes names and message text for display. Credentials and application data are bytes any
 * member (or any key package's maker) chose: invalid UTF-8 becomes U+FFFD instead of throwing.
 */
export const lenientUtf8 = new TextDecoder("utf-8");

/** A ts-mls state from its encoding, with the client config ts-mls does not serialise. */
export function stateFromBytes(bytes: Uint8Array): ClientState {
  const decoded = decodeGroupState(bytes, 0);
  if (!decoded) throw new ConfigError("group state is damaged");
  return { ...decoded[0], clientConfig: mlsClientConfig };
}

function eventToJson(event: GroupEvent): Record<string, unknown> {
  switch (event.kind) {
    case "message":
      return {
        kind: event.kind,
        epoch: event.epoch.toString(),
        sender: event.sender,
        data: toBase64Url(event.data),
      };
    case "commit":
    case "removed":
      return { ...event, epoch: event.epoch.toString() };
    case "unreadable":
      return { kind: event.kind, reason: event.reason };
  }
}

function eventFromJson(x: Record<string, unknown>): GroupEvent {
  const str = (v: unknown): string => {
    if (typeof v !== "string") throw new TypeError();
    return v;
  };
  const names = (v: unknown): string[] => {
    if (!Array.isArray(v)) throw new TypeError();
    return v.map(str);
  };
  switch (x["kind"]) {
    case "message": {
      const data = fromBase64Url(str(x["data"]));
      return {
        kind: "message",
        epoch: BigInt(str(x["epoch"])),
        sender: str(x["sender"]),
        data,
        text: lenientUtf8.decode(data),
      };
    }
    case "commit":
      return {
        kind: "commit",
        epoch: BigInt(str(x["epoch"])),
        committer: str(x["committer"]),
        added: names(x["added"]),
        removed: names(x["removed"]),
      };
    case "removed":
      return { kind: "removed", epoch: BigInt(str(x["epoch"])), committer: str(x["committer"]) };
    case "unreadable":
      return { kind: "unreadable", reason: str(x["reason"]) };
    default:
      throw new TypeError();
  }
}

/**
 * Serialises a session's saved state.
 *
 * @example await save(savedGroupToJson(saved));
 */
export function savedGroupToJson(g: SavedGroup): string {
  const b64 = toBase64Url;
  const entry = (e: OutboxEntry) => ({
    relay: e.relay,
    readId: b64(e.readId),
    writeToken: b64(e.writeToken.expose()),
    messageId: b64(e.messageId),
    payload: b64(e.payload),
  });
  return JSON.stringify({
    shroud: "group/v2",
    name: g.name,
    relay: g.relay,
    ...(g.relaySigningKey ? { relaySigningKey: b64(g.relaySigningKey) } : {}),
    removed: g.removed,
    state: b64(encodeGroupState(g.state)),
    readings: g.readings.map((r) => ({
      epoch: r.epoch.toString(),
      readSecret: b64(r.readSecret.expose()),
      writeToken: b64(r.writeToken.expose()),
      payloadKey: b64(r.payloadKey.expose()),
      cursor: r.cursor,
    })),
    sent: g.sent,
    buffered: g.buffered.map(b64),
    outbox: g.outbox.map(entry),
    ...(g.events.length > 0 ? { events: g.events.map(eventToJson) } : {}),
    ...(g.pending
      ? {
          pending: {
            messageId: b64(g.pending.messageId),
            payloads: g.pending.payloads.map(b64),
            newState: b64(g.pending.newState),
            welcome: g.pending.welcome.map(entry),
            invitations: g.pending.invitations.map(entry),
          },
        }
      : {}),
  });
}

/** Parses savedGroupToJson's output; ConfigError when it is not a group file or is damaged. */
export async function savedGroupFromJson(text: string): Promise<SavedGroup> {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ConfigError("not a Shroud group file (invalid JSON)");
  }
  if (r?.["shroud"] === "group/v1") {
    throw new ConfigError(
      "a group saved by Shroud protocol v1, whose inboxes v2 relays no longer serve: create the group anew",
    );
  }
  if (r?.["shroud"] !== "group/v2") throw new ConfigError("not a Shroud group file");
  try {
    const bytes = (v: unknown) => fromBase64Url(v as string);
    const entry = (e: Record<string, unknown>): OutboxEntry => ({
      relay: e["relay"] as string,
      readId: bytes(e["readId"]),
      writeToken: new SecretBytes(bytes(e["writeToken"])),
      messageId: bytes(e["messageId"]),
      payload: bytes(e["payload"]),
    });
    const readings: Reading[] = [];
    for (const x of r["readings"] as Record<string, unknown>[]) {
      const readSecret = new SecretBytes(bytes(x["readSecret"]));
      const writeToken = new SecretBytes(bytes(x["writeToken"]));
      readings.push({
        epoch: BigInt(x["epoch"] as string),
        ...(await inboxAddress(readSecret.expose(), writeToken.expose())),
        readSecret,
        writeToken,
        payloadKey: new SecretBytes(bytes(x["payloadKey"])),
        cursor: Number(x["cursor"]),
      });
    }
    if (readings.length === 0) throw new TypeError();
    const pending = r["pending"] as Record<string, unknown> | undefined;
    return {
      name: r["name"] as string,
      relay: r["relay"] as string,
      ...(r["relaySigningKey"] === undefined
        ? {}
        : { relaySigningKey: bytes(r["relaySigningKey"]) }),
      removed: r["removed"] === true,
      state: stateFromBytes(bytes(r["state"])),
      readings,
      sent: r["sent"] as string[],
      buffered: (r["buffered"] as string[]).map(bytes),
      outbox: (r["outbox"] as Record<string, unknown>[]).map(entry),
      ...(pending
        ? {
            pending: {
              messageId: bytes(pending["messageId"]),
              // Files saved before commits could be fragmented hold one `payload`.
              payloads:
                pending["payloads"] === undefined
                  ? [bytes(pending["payload"])]
                  : (pending["payloads"] as string[]).map(bytes),
              newState: bytes(pending["newState"]),
              welcome: ((pending["welcome"] ?? []) as Record<string, unknown>[]).map(entry),
              invitations: (pending["invitations"] as Record<string, unknown>[]).map(entry),
            },
          }
        : {}),
      events:
        r["events"] === undefined
          ? []
          : (r["events"] as Record<string, unknown>[]).map(eventFromJson),
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("group file is damaged");
  }
}
