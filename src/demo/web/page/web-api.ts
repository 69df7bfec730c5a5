/**
 * What the web demo's server and its page say to each other (JSON over the page's own origin).
 * The page talks to the relays with the SDK; the demo server only hands it the setup, the
 * relays' signed descriptors, the people's contact cards and what each relay's operator saw.
 */

/** The two providers: alice's relay is A, bob's and carol's is B. */
export type ProviderLabel = "A" | "B";

/** One relay of the demo, as the page needs it. */
export interface DemoRelayInfo {
  label: ProviderLabel;
  url: string;
}

/** One person of the demo and the provider whose relay holds their personal inbox. */
export interface DemoPerson {
  name: string;
  provider: ProviderLabel;
}

/** GET /api/setup: everything a page needs to start. */
export interface DemoSetup {
  /** The group's name (the relays never see it). */
  group: string;
  relays: DemoRelayInfo[];
  people: DemoPerson[];
  /** Milliseconds between a page's reads of its inboxes. */
  pollMs: number;
}

/** One relay operator's view: the terminal demo's summary lines for the whole run. */
export interface OperatorSummary {
  label: ProviderLabel;
  url: string;
  /** Requests the relay answered over HTTP (clients, peers and preflights alike). */
  requests: number;
  lines: string[];
}

/** GET /api/operators. */
export interface OperatorView {
  relays: OperatorSummary[];
}

/** The demo server's paths (GET unless noted). */
export const ApiPaths = {
  setup: "/api/setup",
  /** + "/A" or "/B": the relay's signed descriptor, as the relay serves it. */
  descriptor: "/api/descriptor",
  /** + "/NAME": PUT a card (JSON), GET it; GET alone: the names with a card. */
  cards: "/api/cards",
  operators: "/api/operators",
  /** Every operator event of the run, per relay (OperatorEvent[] each). */
  operatorEvents: "/api/operators/events",
} as const;

/** The largest card the demo server keeps (a card with 4 key packages is about 2 KiB). */
export const MAX_CARD_BYTES = 64 * 1024;

/** The demo's cast: alice on A; bob and carol on B. */
export const DEMO_PEOPLE: readonly DemoPerson[] = [
  { name: "alice", provider: "A" },
  { name: "bob", provider: "B" },
  { name: "carol", provider: "B" },
];
