/**
 * A group member's own material: a name (its MLS credential), a personal inbox for invitations
 * and first contact, and the private halves of the key packages its contact card hands out.
 *
 *   Member file (JSON): { "shroud": "member/v2", name, inbox: <inbox/v2>,
 *                         keyPackages: [{ public, initPrivateKey, hpkePrivateKey,
 *                                         signaturePrivateKey }] }
 * `public` is an encoded MLS KeyPackage message; byte fields are base64url.
 */
import {
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackage,
  type KeyPackage,
  type PrivateKeyPackage,
} from "ts-mls";
import { fromBase64Url, toBase64Url, toHex, utf8 } from "../../protocol/bytes.js";
import { ConfigError, DecodeError } from "../../protocol/errors.js";
import {
  contactCard,
  createInbox,
  inboxFromJson,
  inboxToJson,
  type ContactCard,
} from "../inbox.js";
import type { Inbox } from "../inbox.js";
import { keyPackageHash } from "./group-invitation.js";
import { mlsSuite } from "./mls-suite.js";

/** A key package with its private keys; `encoded` is the MLS message put on cards. */
export interface KeyPackageRecord {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
  encoded: Uint8Array;
}

const MAX_NAME = 64;

/** Generates a key package for `name` (basic credential, Shroud's ciphersuite). */
export async function newKeyPackage(name: string): Promise<KeyPackageRecord> {
  const { publicPackage, privatePackage } = await generateKeyPackage(
    { credentialType: "basic", identity: utf8(name) },
    defaultCapabilities(),
    defaultLifetime,
    [],
    await mlsSuite(),
  );
  const encoded = encodeMlsMessage({
    version: "mls10",
    wireformat: "mls_key_package",
    keyPackage: publicPackage,
  });
  return { publicPackage, privatePackage, encoded };
}

/** Decodes a key package from a contact card; DecodeError if it is not one. */
export function decodeKeyPackage(encoded: Uint8Array): KeyPackage {
  let decoded: ReturnType<typeof decodeMlsMessage>;
  try {
    decoded = decodeMlsMessage(encoded, 0);
  } catch {
    throw new DecodeError("not an MLS key package");
  }
  if (!decoded || decoded[1] !== encoded.length || decoded[0].wireformat !== "mls_key_package") {
    throw new DecodeError("not an MLS key package");
  }
  return decoded[0].keyPackage;
}

/**
 * @example
 * const alice = await Member.create("alice", "https://a.example", descriptor.signingKey);
 * writeFileSync("alice.card.json", cardToJson(alice.card()));
 */
export class Member {
  readonly #keyPackages: KeyPackageRecord[];

  private constructor(
    readonly name: string,
    readonly inbox: Inbox,
    keyPackages: KeyPackageRecord[],
  ) {
    this.#keyPackages = keyPackages;
  }

  /** A new member with a personal inbox on `relay` and `keyPackages` fresh key packages. */
  static async create(
    name: string,
    relay: string,
    relaySigningKey?: Uint8Array,
    keyPackages = 4,
  ): Promise<Member> {
    if (name.length === 0 || utf8(name).length > MAX_NAME) {
      throw new ConfigError(`a member name has 1 to ${MAX_NAME} bytes`);
    }
    const inbox = await createInbox(relay, relaySigningKey);
    const packages: KeyPackageRecord[] = [];
    for (let i = 0; i < keyPackages; i++) packages.push(await newKeyPackage(name));
    return new Member(name, inbox, packages);
  }

  /** What others need to write to this member and add it to groups (holds the write token). */
  card(): ContactCard {
    return {
      ...contactCard(this.inbox),
      name: this.name,
      keyPackages: this.#keyPackages.map((k) => k.encoded),
    };
  }

  /** Key packages left: how many more groups can add this member before it needs new ones. */
  get keyPackageCount(): number {
    return this.#keyPackages.length;
  }

  /** Adds fresh key packages (a card's packages are used up as groups add the member). */
  async addKeyPackages(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.#keyPackages.push(await newKeyPackage(this.name));
  }

  /** Removes and returns the key package an invitation names, if this member holds it. */
  async takeKeyPackage(hash: Uint8Array): Promise<KeyPackageRecord | undefined> {
    const index = await this.#keyPackageIndex(hash);
    return index < 0 ? undefined : this.#keyPackages.splice(index, 1)[0];
  }

  /** Whether this member still holds the key package with this hash (keyPackageHash). */
  async holdsKeyPackage(hash: Uint8Array): Promise<boolean> {
    return (await this.#keyPackageIndex(hash)) >= 0;
  }

  async #keyPackageIndex(hash: Uint8Array): Promise<number> {
    const wanted = toHex(hash);
    for (const [i, record] of this.#keyPackages.entries()) {
      if (toHex(await keyPackageHash(record.encoded)) === wanted) return i;
    }
    return -1;
  }

  /** Serialises the member, private keys included, for an encrypted profile. */
  toJson(): string {
    return JSON.stringify({
      shroud: "member/v2",
      name: this.name,
      inbox: JSON.parse(inboxToJson(this.inbox)) as unknown,
      keyPackages: this.#keyPackages.map((k) => ({
        public: toBase64Url(k.encoded),
        initPrivateKey: toBase64Url(k.privatePackage.initPrivateKey),
        hpkePrivateKey: toBase64Url(k.privatePackage.hpkePrivateKey),
        signaturePrivateKey: toBase64Url(k.privatePackage.signaturePrivateKey),
      })),
    });
  }

  /** Parses toJson's output; ConfigError when it is not a member file. */
  static async fromJson(text: string): Promise<Member> {
    let record: {
      shroud?: unknown;
      name?: unknown;
      inbox?: unknown;
      keyPackages?: Record<string, unknown>[];
    };
    try {
      record = JSON.parse(text) as typeof record;
    } catch {
      throw new ConfigError("not a Shroud member file (invalid JSON)");
    }
    if (record?.shroud === "member/v1") {
      throw new ConfigError(
        "a member file of Shroud protocol v1, whose inboxes v2 relays no longer serve: create a new member",
      );
    }
    if (record?.shroud !== "member/v2" || typeof record.name !== "string") {
      throw new ConfigError("not a Shroud member file");
    }
    if (!Array.isArray(record.keyPackages))
      throw new ConfigError("member file has no key packages");
    const bytes = (value: unknown): Uint8Array => {
      if (typeof value !== "string") throw new ConfigError("member file is damaged");
      return fromBase64Url(value);
    };
    const keyPackages = record.keyPackages.map((k) => {
      const encoded = bytes(k["public"]);
      return {
        encoded,
        publicPackage: decodeKeyPackage(encoded),
        privatePackage: {
          initPrivateKey: bytes(k["initPrivateKey"]),
          hpkePrivateKey: bytes(k["hpkePrivateKey"]),
          signaturePrivateKey: bytes(k["signaturePrivateKey"]),
        },
      };
    });
    const inbox = await inboxFromJson(JSON.stringify(record.inbox));
    return new Member(record.name, inbox, keyPackages);
  }

  /** Names the member, nothing secret (safe to log). */
  toString(): string {
    return `Member(${this.name})`;
  }
}
