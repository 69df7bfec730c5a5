/**
 * Inbox, card and member files of protocol v2 round-trip; version 1 files, whose inbox ids v2
 * relays no longer serve, are refused with a message that says so and what to do.
 */
import { describe, expect, it } from "vitest";
import {
  cardFromJson,
  cardToJson,
  contactCard,
  createInbox,
  inboxFromJson,
  inboxToJson,
} from "../../src/client/inbox.js";
import { Member } from "../../src/client/mls/member.js";
import { toHex } from "../../src/protocol/bytes.js";
import { ConfigError } from "../../src/protocol/errors.js";

const RELAY = "https://relay.example";

describe("file formats", () => {
  it("round-trips an inbox and its card, deriving the same ids from the secrets", async () => {
    const inbox = await createInbox(RELAY);
    const again = await inboxFromJson(inboxToJson(inbox));
    expect(toHex(again.inboxId)).toBe(toHex(inbox.inboxId));
    expect(toHex(again.writeTokenHash)).toBe(toHex(inbox.writeTokenHash));
    const card = await cardFromJson(cardToJson(contactCard(inbox)));
    expect(toHex(card.inboxId)).toBe(toHex(inbox.inboxId));
    expect(toHex(card.readId)).toBe(toHex(inbox.readId));
    const json = JSON.parse(cardToJson(card)) as Record<string, unknown>;
    expect(json).not.toHaveProperty("readSecret");
    expect(json).not.toHaveProperty("inboxId");
  });

  it("refuses version 1 inbox, card and member files with what to do instead", async () => {
    const inbox = JSON.parse(inboxToJson(await createInbox(RELAY))) as Record<string, unknown>;
    const card = JSON.parse(cardToJson(contactCard(await createInbox(RELAY)))) as Record<
      string,
      unknown
    >;
    await expect(inboxFromJson(JSON.stringify({ ...inbox, shroud: "inbox/v1" }))).rejects.toThrow(
      /protocol v1.*create a new inbox/,
    );
    await expect(cardFromJson(JSON.stringify({ ...card, shroud: "card/v1" }))).rejects.toThrow(
      /protocol v1.*ask its owner for a new card/,
    );
    const member = JSON.parse((await Member.create("ann", RELAY)).toJson()) as object;
    await expect(
      Member.fromJson(JSON.stringify({ ...member, shroud: "member/v1" })),
    ).rejects.toThrow(ConfigError);
    await expect(cardFromJson(JSON.stringify({ ...card, shroud: "card/v3" }))).rejects.toThrow(
      "not a Shroud card file",
    );
  });
});
