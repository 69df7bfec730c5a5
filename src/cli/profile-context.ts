/**
 * An open profile as the `profile` and `group` commands use it: the member, its route
 * preferences (home relay, optional ingress relay), its groups by local name, and the one route
 * function every relay request goes through. Everything is persisted through a ProfileStore, so
 * nothing leaves this module unencrypted except the contact card, which is meant to be shared.
 *
 *   profile.enc (JSON): { "shroud": "profile-data/v1", member: <member/v1>, keyPackages,
 *                         via?, viaSigningKey?, groups: [{ name, file }],
 *                         news?: { joined: [name], problems: [text] } }
 * `name` is the local name of a group (the inviter's name for it unless that was taken), `file`
 * the random id of its sealed file. `news` holds the groups joined and the invitations skipped
 * since `group read` last printed them (the agent joins groups on its own).
 *
 * While `shroud agent` runs for a profile it holds the profile; withProfile hands a command to
 * it over its socket instead of opening the profile.
 */
import { join } from "node:path";
import { acceptInvitations } from "../client/mls/accept-invitations.js";
import { GroupSession, type GroupDeps } from "../client/mls/group-session.js";
import { Member } from "../client/mls/member.js";
import { cardToJson, type ContactCard } from "../client/inbox.js";
import { ShapingProfiles, type ShapingProfile } from "../client/shaping-profile.js";
import { RelayClient } from "../client/relay-client.js";
import { fromBase64Url, toBase64Url, utf8 } from "../protocol/bytes.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { ShroudError, TransportError } from "../protocol/errors.js";
import { handOff, reachAgent, removeStaleSocket } from "./agent-client.js";
import type { AgentRequest } from "./agent-protocol.js";
import { CliError, UsageError, type CliIo } from "./cli-support.js";
import {
  newProfileWallet,
  walletFromJson,
  walletToJson,
  type ProfileWallet,
} from "./profile-wallet.js";
import {
  newGroupFileId,
  ProfileStore,
  writeFileAtomic,
  type ProfileSecrets,
} from "./profile-store.js";

/** The options every profile and group command takes. */
export const PROFILE_OPTIONS = {
  profile: { type: "string" },
  "key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const DEFAULT_PROFILE_DIR = ".shroud-profile";
export const CARD_FILE = "card.json";
/** Bytes of a member or group name (the limits of Member and GroupSession). */
export const MAX_NAME_BYTES = 64;

/** The profile directory: --profile, else SHROUD_PROFILE, else ./.shroud-profile. */
export function profileDir(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const dir = option ?? (env["SHROUD_PROFILE"] || DEFAULT_PROFILE_DIR);
  if (dir === "") throw new UsageError("--profile must name a directory");
  return dir;
}

/** The profile's secret: --key-file or SHROUD_KEY_FILE, and SHROUD_PASSPHRASE. */
export function profileSecrets(
  keyFileOption: string | undefined,
  env: NodeJS.ProcessEnv,
): ProfileSecrets {
  if (keyFileOption === "") throw new UsageError("--key-file must name a file");
  return {
    keyFile: keyFileOption ?? (env["SHROUD_KEY_FILE"] || undefined),
    passphrase: env["SHROUD_PASSPHRASE"],
  };
}

/** A name for a member or group on the command line: 1 to 64 bytes of UTF-8. */
export function nameArgument(text: string, what: string): string {
  if (text.length === 0 || utf8(text).length > MAX_NAME_BYTES) {
    throw new UsageError(
      `${what} must have 1 to ${MAX_NAME_BYTES} bytes, got ${text.length} characters`,
    );
  }
  return text;
}

/** The number of key packages a card is refilled with (what profile create was given). */
function keyPackageCount(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 64
    ? value
    : 4;
}

interface GroupEntry {
  /** The local name commands use. */
  name: string;
  /** The sealed file's random id. */
  file: string;
}

/** What `group read` has not printed yet of what happened outside the groups themselves. */
export interface ProfileNews {
  /** Local names of the groups joined. */
  joined: string[];
  /** Why invitations were skipped. */
  problems: string[];
}

/** A group loaded from the profile, under its local name. */
export interface LoadedGroup {
  name: string;
  session: GroupSession;
}

export interface ProfileOptions {
  /**
   * How the profile's relay clients send (default off: a one-shot command sends at once and
   * exits; `shroud agent` shapes).
   */
  shaping?: ShapingProfile;
}

function newsFromJson(value: unknown): ProfileNews {
  const record = (value ?? {}) as Record<string, unknown>;
  const strings = (list: unknown) =>
    Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  return { joined: strings(record["joined"]), problems: strings(record["problems"]) };
}

/**
 * @example
 * const profile = await Profile.open(dir, profileSecrets(undefined, process.env));
 * try {
 *   const group = await profile.loadGroup("friends");
 *   await group.session.send("hello");
 * } finally {
 *   await profile.close();
 * }
 */
export class Profile {
  readonly #store: ProfileStore;
  readonly #groups: GroupEntry[];
  readonly #clients = new Map<string, Promise<RelayClient>>();
  readonly #pins = new Map<string, Uint8Array>();
  readonly #viaSigningKey: Uint8Array | undefined;
  /** Groups loaded so far: one session per group, so two loads never fork its MLS state. */
  readonly #loaded = new Map<GroupEntry, Promise<LoadedGroup>>();
  #news: ProfileNews;
  readonly #shaping: ShapingProfile;
  /** Privacy Pass tokens (tokens.enc), once `shroud tokens refill` has set an issuer. */
  #wallet: ProfileWallet | undefined;

  private constructor(
    store: ProfileStore,
    readonly member: Member,
    /** The ingress relay every request goes through, if the profile has one. */
    readonly via: string | undefined,
    viaSigningKey: Uint8Array | undefined,
    /** How many key packages to make when the card runs out. */
    readonly keyPackages: number,
    groups: GroupEntry[],
    news: ProfileNews,
    options: ProfileOptions,
    wallet?: ProfileWallet,
  ) {
    this.#wallet = wallet;
    this.#news = news;
    this.#shaping = options.shaping ?? ShapingProfiles.off;
    this.#store = store;
    this.#viaSigningKey = viaSigningKey;
    this.#groups = groups;
    if (member.inbox.relaySigningKey) this.pin(member.inbox.relay, member.inbox.relaySigningKey);
    if (via !== undefined && viaSigningKey) this.pin(via, viaSigningKey);
  }

  get dir(): string {
    return this.#store.dir;
  }

  /** Where the shareable contact card is written. */
  get cardPath(): string {
    return join(this.#store.dir, CARD_FILE);
  }

  /** Local group names, in the order the groups were made or joined. */
  get groupNames(): string[] {
    return this.#groups.map((g) => g.name);
  }

  /** Starts a profile in `dir` for `member` (the store is created and holds the lock). */
  static async create(
    store: ProfileStore,
    member: Member,
    route: { via?: string | undefined; viaSigningKey?: Uint8Array | undefined },
    keyPackages: number,
  ): Promise<Profile> {
    const profile = new Profile(
      store,
      member,
      route.via,
      route.viaSigningKey,
      keyPackages,
      [],
      { joined: [], problems: [] },
      {},
    );
    await profile.save();
    return profile;
  }

  /** Opens the profile in `dir`; CliError on a wrong secret or a damaged profile. */
  static async open(
    dir: string,
    secrets: ProfileSecrets,
    options: ProfileOptions = {},
  ): Promise<Profile> {
    const store = await ProfileStore.open(dir, secrets);
    try {
      const record = JSON.parse(await store.read("profile")) as Record<string, unknown>;
      if (record["shroud"] !== "profile-data/v1") throw new TypeError();
      const member = await Member.fromJson(JSON.stringify(record["member"]));
      const groups = (record["groups"] as GroupEntry[]).map((g) => {
        if (typeof g.name !== "string" || typeof g.file !== "string") throw new TypeError();
        return { name: g.name, file: g.file };
      });
      const via = record["via"] as string | undefined;
      const pin = record["viaSigningKey"] as string | undefined;
      const walletText = await store.readIfPresent("tokens");
      // The wallet's issuer is pinned as the profile pins it (its home relay's key).
      const relayPin = (origin: string) =>
        normalizeOrigin(member.inbox.relay) === origin ? member.inbox.relaySigningKey : undefined;
      const wallet = walletText === undefined ? undefined : walletFromJson(walletText, relayPin);
      return new Profile(
        store,
        member,
        via === undefined ? undefined : normalizeOrigin(via),
        pin === undefined ? undefined : fromBase64Url(pin),
        keyPackageCount(record["keyPackages"]),
        groups,
        newsFromJson(record["news"]),
        options,
        wallet,
      );
    } catch (error) {
      await store.close();
      if (error instanceof CliError) throw error;
      throw new CliError(`the profile in ${dir} is damaged (profile.enc does not parse)`);
    }
  }

  /** Writes the profile (member, routes, group list) back, encrypted. */
  async save(): Promise<void> {
    await this.#store.write(
      "profile",
      JSON.stringify({
        shroud: "profile-data/v1",
        member: JSON.parse(this.member.toJson()) as unknown,
        keyPackages: this.keyPackages,
        ...(this.via === undefined ? {} : { via: this.via }),
        ...(this.#viaSigningKey ? { viaSigningKey: toBase64Url(this.#viaSigningKey) } : {}),
        groups: this.#groups,
        ...(this.#news.joined.length + this.#news.problems.length > 0 ? { news: this.#news } : {}),
      }),
    );
  }

  /** Writes the member's contact card (unencrypted, mode 0644: it is meant to be shared). */
  async writeCard(): Promise<string> {
    await writeFileAtomic(this.cardPath, `${cardToJson(this.member.card())}\n`, 0o644);
    return this.cardPath;
  }

  /** Stops the profile's relay clients, keeps the tokens left and releases the lock. */
  async close(): Promise<void> {
    await this.closeClients();
    try {
      await this.saveTokens();
    } finally {
      await this.#store.close();
    }
  }

  /** The profile's token wallet, if `shroud tokens refill` has set an issuer. */
  get tokens(): ProfileWallet | undefined {
    return this.#wallet;
  }

  /**
   * Takes tokens from `issuer` from now on, getting past its attester with `invite` (none for
   * an address attester); the tokens and invite held stay when the issuer is the same.
   */
  setTokenIssuer(issuer: string, invite: string | undefined): ProfileWallet {
    const origin = normalizeOrigin(issuer);
    const same = this.#wallet?.wallet.issuer === origin ? this.#wallet : undefined;
    const next = newProfileWallet(origin, invite ?? same?.invite, this.#pins.get(origin));
    if (same) next.wallet.restore(same.wallet.export());
    this.#wallet = next;
    return next;
  }

  /** Writes the tokens not yet spent back to tokens.enc (nothing when there is no wallet). */
  async saveTokens(): Promise<void> {
    if (!this.#wallet) return;
    // A background refill's tokens were paid for out of the allowance: keep them too.
    await this.#wallet.wallet.settled();
    await this.#store.write("tokens", walletToJson(this.#wallet));
  }

  /** Stops the relay clients (a shaping one sends until closed); what waits for a slot fails. */
  async closeClients(): Promise<void> {
    for (const client of await this.clients()) client.close();
  }

  /** The relay clients connected so far. */
  async clients(): Promise<RelayClient[]> {
    const settled = await Promise.allSettled(this.#clients.values());
    return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  }

  /** Expects `origin`'s descriptor to be signed by `key` from now on (first pin wins). */
  pin(origin: string, key: Uint8Array): void {
    const normalized = normalizeOrigin(origin);
    if (!this.#pins.has(normalized)) this.#pins.set(normalized, key);
  }

  /** Pins the relays named by contact cards (before anything is sent to them). */
  pinCards(cards: ContactCard[]): void {
    for (const card of cards) if (card.relaySigningKey) this.pin(card.relay, card.relaySigningKey);
  }

  /**
   * A client for the relay at `origin`, one per origin per command: through the profile's
   * ingress relay when it has one (the relay at `origin` then never sees this client), directly
   * when there is none or `origin` is the ingress relay itself.
   */
  readonly route = (origin: string): Promise<RelayClient> => {
    const normalized = normalizeOrigin(origin);
    let client = this.#clients.get(normalized);
    if (!client) {
      client = this.#connect(normalized);
      this.#clients.set(normalized, client);
      // A failed connection must not stay cached for the rest of the command.
      client.catch(() => this.#clients.delete(normalized));
    }
    return client;
  };

  async #connect(origin: string): Promise<RelayClient> {
    const pin = this.#pins.get(origin);
    // Off for the one-shot commands, which send at once and exit; shroud agent shapes.
    const options = {
      shaping: this.#shaping,
      ...(pin ? { pinnedSigningKey: pin } : {}),
      ...(this.#wallet ? { tokens: this.#wallet.wallet } : {}),
    };
    if (this.via === undefined || this.via === origin) return RelayClient.connect(origin, options);
    const ingress = await this.route(this.via);
    try {
      return await RelayClient.connectVia(origin, ingress, options);
    } catch (error) {
      // Say which link failed: the ingress relay refuses or cannot reach `origin`.
      if (error instanceof TransportError) {
        throw new CliError(`${this.via} cannot relay to ${origin}: ${error.message}`);
      }
      throw error;
    }
  }

  /** Persistence for one group: its file, and on first save the profile's group list. */
  #deps(entry: GroupEntry): GroupDeps {
    return {
      route: this.route,
      save: async (json) => {
        await this.#store.write({ group: entry.file }, json);
        if (!this.#groups.includes(entry)) {
          // The group file exists before the profile names it, so the list never dangles.
          this.#groups.push(entry);
          await this.save();
        }
      },
    };
  }

  /** A local name for a group called `name` that no group of this profile has yet. */
  #freeName(name: string): string {
    const taken = new Set(this.groupNames);
    if (!taken.has(name)) return name;
    for (let i = 2; ; i++) if (!taken.has(`${name}-${i}`)) return `${name}-${i}`;
  }

  #entry(name: string): GroupEntry {
    const entry = this.#groups.find((g) => g.name === name);
    if (!entry)
      throw new CliError(`no group "${name}" in this profile (see \`shroud group list\`)`);
    return entry;
  }

  #load(entry: GroupEntry): Promise<LoadedGroup> {
    let loaded = this.#loaded.get(entry);
    if (!loaded) {
      loaded = this.#read(entry);
      this.#loaded.set(entry, loaded);
      // A failed load (a damaged file) is tried again by the next command.
      loaded.catch(() => this.#loaded.delete(entry));
    }
    return loaded;
  }

  async #read(entry: GroupEntry): Promise<LoadedGroup> {
    let session: GroupSession;
    try {
      session = await GroupSession.fromJson(
        await this.#store.read({ group: entry.file }),
        this.#deps(entry),
      );
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof ShroudError)
        throw new CliError(`group "${entry.name}": ${error.message}`);
      throw error;
    }
    if (session.relaySigningKey) this.pin(session.relay, session.relaySigningKey);
    return { name: entry.name, session };
  }

  /** Loads one group by its local name; CliError if the profile has none by that name. */
  async loadGroup(name: string): Promise<LoadedGroup> {
    return this.#load(this.#entry(name));
  }

  /** Loads every group of the profile. */
  async loadGroups(): Promise<LoadedGroup[]> {
    const loaded: LoadedGroup[] = [];
    for (const entry of this.#groups) loaded.push(await this.#load(entry));
    return loaded;
  }

  /** Creates a group whose inboxes live on the profile's relay; CliError if the name is taken. */
  async createGroup(name: string): Promise<LoadedGroup> {
    if (this.groupNames.includes(name)) {
      throw new CliError(`this profile already has a group "${name}"`);
    }
    const home = await this.route(this.member.inbox.relay);
    const entry = { name, file: newGroupFileId() };
    const session = await GroupSession.create(name, this.member, home, this.#deps(entry));
    const group = { name, session };
    this.#loaded.set(entry, Promise.resolve(group));
    return group;
  }

  /**
   * Joins the groups whose invitations wait in the personal inbox. Each joined group is saved
   * with the member (whose used key packages are gone) before the invitations are acked.
   */
  async acceptInvitations(): Promise<{ joined: LoadedGroup[]; problems: string[] }> {
    const before = this.#groups.length;
    const client = await this.route(this.member.inbox.relay);
    // A failed join may still have used up a key package: save the member whatever happened,
    // before the invitations are deleted at the relay.
    const result = await acceptInvitations(
      this.member,
      client,
      (groupName) => this.#deps({ name: this.#freeName(groupName), file: newGroupFileId() }),
      { beforeAck: () => this.save() },
    );
    const added = this.#groups.slice(before);
    const joined = result.joined.map((session, i) => {
      if (session.relaySigningKey) this.pin(session.relay, session.relaySigningKey);
      const group = { name: added[i]?.name ?? session.name, session };
      if (added[i]) this.#loaded.set(added[i], Promise.resolve(group));
      return group;
    });
    if (joined.length + result.problems.length > 0) {
      this.#news.joined.push(...joined.map((g) => g.name));
      this.#news.problems.push(...result.problems);
      await this.save();
    }
    return { joined, problems: result.problems };
  }

  /** How many groups joined and invitations skipped wait for takeNews. */
  get newsCount(): number {
    return this.#news.joined.length + this.#news.problems.length;
  }

  /** The groups joined and invitations skipped since the last call (saved as taken). */
  async takeNews(): Promise<{ joined: LoadedGroup[]; problems: string[] }> {
    const news = this.#news;
    if (news.joined.length + news.problems.length === 0) return { joined: [], problems: [] };
    this.#news = { joined: [], problems: [] };
    await this.save();
    const joined: LoadedGroup[] = [];
    for (const name of news.joined) {
      const entry = this.#groups.find((g) => g.name === name);
      if (entry) joined.push(await this.#load(entry));
    }
    return { joined, problems: news.problems };
  }
}

/**
 * Runs a profile command: handed to the profile's agent when one runs (its answer printed as it
 * comes, the profile never opened here), else `body` on the profile opened here, its lock held
 * throughout.
 *
 * @example
 * return withProfile(values, io, { command: "profile", sub: "card", positionals: [] }, (profile) =>
 *   runCard(profile, io),
 * );
 */
export async function withProfile(
  values: { profile?: string | undefined; "key-file"?: string | undefined },
  io: CliIo,
  request: AgentRequest,
  body: (profile: Profile) => Promise<number>,
): Promise<number> {
  const dir = profileDir(values.profile, io.env);
  const agent = await reachAgent(dir);
  if (agent.status === "running") return handOff(agent.socket, request, io);
  let profile: Profile;
  try {
    profile = await Profile.open(dir, profileSecrets(values["key-file"], io.env));
  } catch (error) {
    // An agent that was starting held the lock: it listens by now, and takes the command.
    const late = error instanceof ShroudError ? await reachAgent(dir) : agent;
    if (late.status === "running") return handOff(late.socket, request, io);
    throw error;
  }
  try {
    // The lock is ours, so no agent listens: a socket left behind is a killed agent's.
    if (agent.status === "stale") await removeStaleSocket(dir);
    return await body(profile);
  } finally {
    await profile.close();
  }
}
