/**
 * One person's pane: who they are and which relay they talk to, their group (epoch, inbox,
 * members with invite and remove buttons), what they read and sent, and their own traffic.
 * The browser test finds its way by the ids and data- attributes set here.
 */
import { el } from "./dom.js";
import type { DemoSetup } from "./web-api.js";

/** Where the person is: the `data-state` of the pane. */
export type PersonState = "starting" | "ready" | "in-group" | "removed" | "failed";

export interface PersonActions {
  create(): void;
  invite(name: string): void;
  remove(name: string): void;
  send(text: string): void;
}

/** What the roster shows. */
export interface GroupView {
  epoch: bigint;
  /** The current epoch's inbox id (hex), as the relay sees it. */
  inbox: string;
  /** The provider whose relay holds the group's inboxes. */
  relay: string;
  members: string[];
}

const KIB = 1024;

function sizes(counts: ReadonlyMap<number, number>): string {
  return [...counts.entries()]
    .sort(([x], [y]) => x - y)
    .map(([bytes, n]) => `${bytes % KIB === 0 ? `${bytes / KIB}K` : `${bytes} B`}×${n}`)
    .join(" ");
}

/**
 * @example
 * const view = new PersonView(document.body, setup, "bob", actions);
 * view.message("alice", "hi", false);
 */
export class PersonView {
  readonly #root: HTMLElement;
  readonly #status = el("p", { id: "status", class: "status" }, "starting…");
  readonly #group = el("p", { id: "group", class: "group-line" });
  readonly #create: HTMLButtonElement;
  readonly #roster = el("ul", { id: "roster", class: "roster" });
  readonly #banner = el("p", { id: "banner", class: "banner", hidden: "" });
  readonly #log = el("ol", { id: "log", class: "log" });
  readonly #text = el("input", {
    id: "text",
    type: "text",
    placeholder: "a message to the group",
    autocomplete: "off",
    maxlength: "500",
  });
  readonly #send = el("button", { id: "send", type: "submit" }, "Send");
  readonly #traffic = el("p", { id: "traffic", class: "traffic" });

  constructor(
    parent: HTMLElement,
    private readonly setup: DemoSetup,
    private readonly name: string,
    private readonly actions: PersonActions,
  ) {
    const provider = setup.people.find((p) => p.name === name)!.provider;
    this.#create = el("button", { id: "create", type: "button" }, `Create "${setup.group}"`);
    this.#create.addEventListener("click", () => actions.create());
    const compose = el("form", { id: "compose", class: "compose" }, this.#text, this.#send);
    compose.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.#text.value.trim();
      if (text === "") return;
      this.#text.value = "";
      actions.send(text);
    });
    this.#root = el(
      "main",
      { class: "person", "data-person": name, "data-state": "starting" },
      el(
        "header",
        {},
        el("h1", {}, name),
        el(
          "p",
          { class: "provider" },
          `provider ${provider}: this page talks to relay ${provider} only`,
        ),
      ),
      this.#status,
      this.#group,
      el("div", { class: "actions" }, this.#create),
      this.#roster,
      this.#banner,
      this.#log,
      compose,
      this.#traffic,
    );
    parent.replaceChildren(this.#root);
    this.setTraffic(new Map());
    this.setGroup(undefined, [], false);
  }

  setState(state: PersonState, status: string): void {
    this.#root.dataset["state"] = state;
    this.#status.textContent = status;
  }

  /** The group line and roster; `cards`: whose cards are on the board; `busy`: a change runs. */
  setGroup(group: GroupView | undefined, cards: readonly string[], busy: boolean): void {
    const state = this.#root.dataset["state"];
    const active = group !== undefined && state === "in-group";
    this.#create.hidden = group !== undefined || state === "removed";
    this.#create.disabled = busy || state !== "ready";
    this.#text.disabled = !active;
    this.#send.disabled = !active;
    this.#group.textContent = group
      ? `"${this.setup.group}" · epoch ${group.epoch} · inbox ${group.inbox.slice(0, 6)}… on relay ${group.relay}`
      : "not in a group yet";
    const rows = this.setup.people.map(({ name, provider }) => {
      const label = `${name} (provider ${provider})`;
      if (name === this.name) return el("li", { "data-name": name }, `${label}: you`);
      if (!active) {
        const member = group?.members.includes(name) ? "a member" : "";
        return el("li", { "data-name": name }, member ? `${label}: ${member}` : label);
      }
      if (group.members.includes(name)) {
        const button = el("button", { type: "button", "data-remove": name }, "Remove");
        button.disabled = busy;
        button.addEventListener("click", () => this.actions.remove(name));
        return el("li", { "data-name": name, class: "member" }, `${label}: a member `, button);
      }
      const button = el("button", { type: "button", "data-invite": name }, "Invite");
      button.disabled = busy || !cards.includes(name);
      button.addEventListener("click", () => this.actions.invite(name));
      const note = cards.includes(name) ? "" : " (no card yet: open their page)";
      return el("li", { "data-name": name }, `${label}${note} `, button);
    });
    this.#roster.replaceChildren(...rows);
  }

  /** A message read from the group, or one this person sent (`own`). */
  message(sender: string, text: string, own: boolean): void {
    this.#append(
      el(
        "li",
        { class: own ? "message own" : "message", "data-sender": sender },
        el("b", {}, `${sender}: `),
        text,
      ),
    );
  }

  /** Something that happened to the group (a commit, a join). */
  event(text: string): void {
    this.#append(el("li", { class: "event" }, text));
  }

  error(text: string): void {
    this.#append(el("li", { class: "error" }, text));
  }

  /** This person was removed: say so where it cannot be missed. */
  removed(text: string): void {
    this.#banner.textContent = text;
    this.#banner.hidden = false;
    this.event(text);
  }

  /** What this page sent to its relay: the bodies' sizes, counted as the SDK handed them over. */
  setTraffic(bodies: ReadonlyMap<number, number>): void {
    const total = [...bodies.values()].reduce((x, y) => x + y, 0);
    this.#traffic.textContent =
      total === 0
        ? "no requests to a relay yet"
        : `this page's requests to its relay: ${total} POST /v1/relay, bodies ${sizes(bodies)}`;
  }

  #append(item: HTMLLIElement): void {
    this.#log.append(item);
    item.scrollIntoView({ block: "nearest" });
  }
}
