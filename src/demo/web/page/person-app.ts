/**
 * One person of the web demo, running the real SDK in this page: a RelayClient for their own
 * provider's relay (every other relay through it), a Member with a personal inbox there, and the
 * group once they create it or join it from a Welcome. The page reads on a timer, as an app
 * would; the buttons create, invite, remove and send.
 */
import {
  GroupSession,
  type GroupDeps,
  type GroupEvent,
} from "../../../client/mls/group-session.js";
import { acceptInvitations } from "../../../client/mls/accept-invitations.js";
import { Member } from "../../../client/mls/member.js";
import { cardFromJson, cardToJson } from "../../../client/inbox.js";
import { ingressRouter } from "../../../client/ingress-router.js";
import { RelayClient } from "../../../client/relay-client.js";
import { ShapingProfiles } from "../../../client/shaping-profile.js";
import { toHex } from "../../../protocol/bytes.js";
import { cardNames, getCard, loadSetup, putCard, relayFetch } from "./demo-server.js";
import { PersonView, type PersonState } from "./person-view.js";
import type { DemoSetup } from "./web-api.js";

/** How long a change waits for its commit to show in the epoch inbox (a busy machine is slow). */
const COMMIT_WAIT_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class PersonApp {
  readonly #bodies = new Map<number, number>();
  readonly #view: PersonView;
  #state: PersonState = "starting";
  #status = "starting…";
  #member: Member | undefined;
  #client: RelayClient | undefined;
  #deps: GroupDeps | undefined;
  #group: GroupSession | undefined;
  #cards: string[] = [];
  #busy = false;

  constructor(
    private readonly setup: DemoSetup,
    private readonly name: string,
    root: HTMLElement,
  ) {
    this.#view = new PersonView(root, setup, name, {
      create: () => void this.#act(() => this.#create()),
      invite: (who) => void this.#act(() => this.#change({ add: who })),
      remove: (who) => void this.#act(() => this.#change({ remove: who })),
      send: (text) => void this.#act(() => this.#send(text), false),
    });
  }

  /** Connects, makes the member and hands out its card; a failure is shown, not thrown. */
  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch (error) {
      this.#set("failed", `could not start: ${describeError(error)}`);
      return;
    }
    void this.#loop();
  }

  async #connect(): Promise<void> {
    const own = this.setup.people.find((p) => p.name === this.name)!.provider;
    const relay = this.setup.relays.find((r) => r.label === own)!;
    this.#set("starting", `connecting to relay ${own}…`);
    // Shaping off, as in the terminal demo: requests leave when made, each still one
    // bucket-sized POST (a shaping client would add cover on a fixed schedule).
    this.#client = await RelayClient.connect(relay.url, {
      shaping: ShapingProfiles.off,
      fetch: relayFetch(this.setup, (bytes) => {
        this.#bodies.set(bytes, (this.#bodies.get(bytes) ?? 0) + 1);
        this.#view.setTraffic(this.#bodies);
      }),
    });
    this.#deps = { route: ingressRouter(this.#client), pollMs: 100, commitWaitMs: COMMIT_WAIT_MS };
    this.#member = await Member.create(
      this.name,
      this.#client.origin,
      this.#client.descriptor.signingKey,
    );
    await putCard(this.name, cardToJson(this.#member.card()));
    this.#set("ready", `ready: personal inbox on relay ${own}; card handed to the others`);
  }

  /** Reads on a timer until removed: invitations while in no group, then the group. */
  async #loop(): Promise<void> {
    while (this.#state !== "removed") {
      try {
        await this.#read();
      } catch (error) {
        this.#view.error(`read failed: ${describeError(error)}`);
      }
      await sleep(this.setup.pollMs);
    }
  }

  async #read(): Promise<void> {
    this.#cards = await cardNames();
    if (!this.#group && !this.#busy) {
      const { joined, problems } = await acceptInvitations(
        this.#member!,
        this.#client!,
        this.#deps!,
      );
      for (const problem of problems) this.#view.error(problem);
      const group = joined[0];
      if (group && !this.#group) {
        this.#group = group;
        this.#view.event(
          `you joined "${group.name}" at epoch ${group.epoch}: ${group.members.join(", ")}`,
        );
        this.#set("in-group", "in the group");
      }
    }
    if (this.#group) this.#show(await this.#group.sync());
    this.#refresh();
  }

  #show(events: readonly GroupEvent[]): void {
    for (const event of events) {
      switch (event.kind) {
        case "message":
          this.#view.message(event.sender, event.text, false);
          break;
        case "commit": {
          const what = [
            ...event.added.map((n) => `added ${n}`),
            ...event.removed.map((n) => `removed ${n}`),
          ];
          this.#view.event(
            `${event.committer} ${what.length > 0 ? what.join(", ") : "updated its keys"} (epoch ${event.epoch})`,
          );
          break;
        }
        case "removed":
          this.#set("removed", `removed from the group by ${event.committer}`);
          this.#view.removed(
            `${event.committer} removed you from "${this.setup.group}": this page can no longer read or send in it`,
          );
          break;
        case "unreadable":
          this.#view.error(`an item could not be read (${event.reason})`);
          break;
      }
    }
  }

  async #create(): Promise<void> {
    const client = await this.#deps!.route(this.#client!.origin);
    this.#group = await GroupSession.create(this.setup.group, this.#member!, client, this.#deps!);
    this.#view.event(`you created "${this.setup.group}" (epoch ${this.#group.epoch})`);
    this.#set("in-group", "in the group");
  }

  async #change(change: { add: string } | { remove: string }): Promise<void> {
    const group = this.#group!;
    const outcome =
      "add" in change
        ? await group.change({ add: [await cardFromJson(await getCard(change.add))] })
        : await group.change({ remove: [change.remove] });
    const what = "add" in change ? `added ${change.add}` : `removed ${change.remove}`;
    this.#view.event(
      outcome.status === "committed"
        ? `you ${what} (epoch ${group.epoch})`
        : `${what}: ${outcome.status} (epoch ${group.epoch})`,
    );
    // What the commit wait read on the way (others' messages, commits) comes with the next sync.
  }

  async #send(text: string): Promise<void> {
    await this.#group!.send(text);
    this.#view.message(this.name, text, true);
  }

  /** Runs a button's action, one change at a time, reporting a failure in the log. */
  async #act(action: () => Promise<void>, exclusive = true): Promise<void> {
    if (exclusive) {
      if (this.#busy) return;
      this.#busy = true;
      this.#refresh();
    }
    try {
      await action();
    } catch (error) {
      this.#view.error(describeError(error));
    } finally {
      if (exclusive) this.#busy = false;
      this.#refresh();
    }
  }

  #set(state: PersonState, status: string): void {
    this.#state = state;
    this.#status = status;
    this.#view.setState(state, status);
    this.#refresh();
  }

  #refresh(): void {
    const group = this.#group;
    const label = group && this.setup.relays.find((r) => r.url === group.relay)?.label;
    this.#view.setState(this.#state, this.#status);
    this.#view.setGroup(
      group && {
        epoch: group.epoch,
        inbox: toHex(group.currentInboxId),
        relay: label ?? group.relay,
        members: group.members,
      },
      this.#cards,
      this.#busy,
    );
  }
}

/**
 * Runs `name`'s side of the demo in `root`.
 *
 * @example await startPerson("bob", document.body);
 */
export async function startPerson(name: string, root: HTMLElement): Promise<void> {
  const setup = await loadSetup();
  if (!setup.people.some((p) => p.name === name)) {
    root.textContent = `No one called "${name}" in this demo.`;
    return;
  }
  document.title = `${name} · Shroud web demo`;
  await new PersonApp(setup, name, root).start();
}
