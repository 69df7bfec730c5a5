/**
 * One simulated user with a personal inbox, driving the real SDK: it polls its inbox like an app
 * without any scheduling of its own would (every `pollMs`, from where it last read, and every
 * few polls acknowledges what it read after a reading delay), answers messages after an
 * exponential think time with some probability, and starts messages unprompted at exponential
 * gaps. Who it writes to is the scenario's choice (`peers`). Every request goes through the
 * client's bound, recording fetch; with a shaping profile the SDK decides when each one leaves.
 */
import { setMaxListeners } from "node:events";
import { contactCard, createInbox, type ContactCard, type Inbox } from "../src/client/inbox.js";
import { RelayClient } from "../src/client/relay-client.js";
import { ShapingProfiles, type ShapingProfile } from "../src/client/shaping-profile.js";
import { utf8 } from "../src/protocol/bytes.js";
import { TransportError } from "../src/protocol/errors.js";
import { boundFetch, type BoundFetch } from "./bound-fetch.js";
import { between, exponential, uniform } from "./csprng.js";
import type { RunRecords, SentMessage } from "./records.js";
import { sleep, type SimTiming } from "./sim-timing.js";

/**
 * Polls per acknowledgement. Through an ingress a read slot fetches one item: acknowledging
 * after every read would take as many slots as reading.
 */
const ACK_EVERY_POLLS = 4;

/** Where a client's requests go: one relay directly, or an inbox relay through an ingress. */
export type Route = { direct: string } | { ingress: string; inboxRelay: string };

export interface ChatWorld {
  timing: SimTiming;
  records: RunRecords;
  /** Cards of every client by address. */
  cards: Map<string, ContactCard>;
  /** Whether sending (unprompted or in reply) is on. */
  sending: boolean;
  nextMessageId: number;
}

/**
 * @example
 * const alice = await ChatClient.create("127.0.0.2", { direct: url }, ShapingProfiles.off, world);
 * alice.peers = () => [bob.address];
 * alice.start();
 */
export class ChatClient {
  /** Addresses this client starts conversations with (its partner, or a crowd). */
  peers: () => string[] = () => [];
  readonly #tasks = new Set<Promise<void>>();
  #polling = false;
  /** How far this client has read its inbox, and acknowledged it. */
  #seen = 0;
  #acked = 0;
  #polls = 0;
  readonly #stopped = new AbortController();

  private constructor(
    readonly address: string,
    /** The client holding the inbox (direct, or through the ingress). */
    readonly home: RelayClient,
    /** Every client this one opened (closed together). */
    private readonly opened: RelayClient[],
    readonly inbox: Inbox,
    private readonly link: BoundFetch,
    private readonly world: ChatWorld,
  ) {
    // Every pending reply waits on it.
    setMaxListeners(0, this.#stopped.signal);
  }

  /** Connects (retrying twice: a relay under load may drop a connection) and makes an inbox. */
  static async create(
    address: string,
    route: Route,
    profile: ShapingProfile,
    world: ChatWorld,
  ): Promise<ChatClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ChatClient.#create(address, route, profile, world);
      } catch (error) {
        if (!(error instanceof TransportError) || attempt === 3) throw error;
        await sleep(world.timing.roundMs);
      }
    }
  }

  static async #create(
    address: string,
    route: Route,
    profile: ShapingProfile,
    world: ChatWorld,
  ): Promise<ChatClient> {
    const link = boundFetch(address, world.records.clientLinks);
    const options = { fetch: link.fetch, shaping: profile };
    const opened: RelayClient[] = [];
    let home: RelayClient;
    if ("direct" in route) {
      home = await RelayClient.connect(route.direct, options);
      opened.push(home);
    } else {
      // The ingress client only carries the inbox client's requests, which ride the inbox
      // client's own slots: shaping it too would add a second schedule of cover to pay for.
      const ingress = await RelayClient.connect(route.ingress, {
        fetch: link.fetch,
        shaping: ShapingProfiles.off,
      });
      opened.push(ingress);
      home = await RelayClient.connectVia(route.inboxRelay, ingress, options);
      opened.push(home);
    }
    const inbox = await createInbox(home.origin, home.descriptor.signingKey);
    world.cards.set(address, contactCard(inbox));
    return new ChatClient(address, home, opened, inbox, link, world);
  }

  /**
   * Gives each peer a lane of drop cover (a no-op when the client does not shape): its inbox then
   * gets deposits from this client at a rate fixed by the schedule, real or drop.
   */
  coverPeers(): void {
    for (const peer of this.peers()) {
      const card = this.world.cards.get(peer);
      if (card) this.home.coverContact(card);
    }
  }

  /** Starts polling and the unprompted messages (which send only while world.sending). */
  start(): void {
    this.#polling = true;
    this.#spawn(this.#pollLoop());
    this.#spawn(this.#unpromptedLoop());
  }

  /** Stops everything and waits for what is under way; then closes the SDK clients. */
  async stop(): Promise<void> {
    this.#polling = false;
    this.#stopped.abort();
    // A shaping client's waiting requests fail once closed; what is under way ends first.
    await Promise.race([Promise.allSettled([...this.#tasks]), sleep(this.world.timing.tailMs)]);
    for (const client of [...this.opened].reverse()) client.close();
    await Promise.allSettled([...this.#tasks]);
    this.link.close();
  }

  #spawn(task: Promise<void>): void {
    const tracked = task.catch(() => {
      if (this.#polling) this.world.records.errors++;
    });
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }

  async #pollLoop(): Promise<void> {
    const { timing } = this.world;
    // Apps start at different moments within a poll interval.
    await sleep(uniform() * timing.pollMs, this.#stopped.signal);
    while (this.#polling) {
      try {
        await this.#pollOnce();
      } catch {
        if (this.#polling) this.world.records.errors++;
      }
      await sleep(timing.pollMs, this.#stopped.signal);
    }
  }

  async #pollOnce(): Promise<void> {
    const result = await this.home.fetchAll(this.inbox, this.#seen);
    if (result.status !== "ok") return;
    const now = performance.now();
    for (const message of result.messages) this.#received(message.payload, now);
    this.#seen = Math.max(this.#seen, result.lastSeq);
    // As the SDK asks: acknowledge on the reader's own schedule (every ACK_EVERY_POLLS polls)
    // whatever came, drop cover included, so acks do not show when messages came.
    if (++this.#polls % ACK_EVERY_POLLS !== 0 || this.#seen <= this.#acked) return;
    const { min, max } = this.world.timing.readDelayMs;
    await sleep(between(min, max), this.#stopped.signal);
    if (!this.#polling) return;
    const upTo = this.#seen;
    const acked = await this.home.ack(this.inbox, upTo);
    if (acked.status === "ok") this.#acked = Math.max(this.#acked, upTo);
  }

  #received(payload: Uint8Array, now: number): void {
    let parsed: { id?: unknown };
    try {
      parsed = JSON.parse(new TextDecoder().decode(payload)) as { id?: unknown };
    } catch {
      return;
    }
    const message = this.world.records.messages[Number(parsed.id)];
    if (!message) return;
    message.receivedAt[this.address] ??= now;
    const { timing } = this.world;
    if (this.world.sending && uniform() < timing.replyProbability) {
      this.#spawn(
        sleep(exponential(timing.thinkMs), this.#stopped.signal).then(() =>
          this.send(message.from),
        ),
      );
    }
  }

  async #unpromptedLoop(): Promise<void> {
    const { timing } = this.world;
    while (this.#polling) {
      await sleep(exponential(timing.unpromptedMs), this.#stopped.signal);
      const peers = this.peers();
      if (!this.#polling || peers.length === 0) return;
      this.#spawn(this.send(peers[Math.floor(uniform() * peers.length)]!));
    }
  }

  /** Sends one message to `to` now (when sending is on), noting it as ground truth. */
  async send(to: string): Promise<void> {
    const card = this.world.cards.get(to);
    if (!this.world.sending || !this.#polling || !card) return;
    const id = this.world.nextMessageId++;
    const record: SentMessage = {
      id,
      from: this.address,
      to,
      sentAt: performance.now(),
      receivedAt: {},
    };
    this.world.records.messages[id] = record;
    // A short chat message of varying length (all of them fit the smallest bucket).
    const filler = "x".repeat(Math.floor(between(20, 600)));
    const body = utf8(JSON.stringify({ id, filler }));
    const answer = await this.home.deposit(card, body);
    if (answer.status === "accepted" || answer.status === "forwarded") {
      record.depositedAt = performance.now();
    } else {
      this.world.records.errors++;
    }
  }
}
