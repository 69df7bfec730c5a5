/**
 * What an observer's view boils down to for the attacks: events with a time, the actor it can
 * tell them apart by (a client address, or an inbox id for a relay that never sees addresses),
 * a label for whatever else it sees of them (sizes, request kind, whether a fetch found
 * something) and, where it sees one, the inbox the event touched.
 */
export interface Observation {
  t: number;
  actor: string;
  label: string;
  /** The inbox id (hex) the event touched, for an observer that sees inbox ids. */
  inbox?: string;
}

/** One observer's record of a run. */
export interface ObserverView {
  /** Short name used in tables and JSON ("network", "ingress", ...). */
  id: string;
  title: string;
  /**
   * Whether docs/THREAT-MODEL.md says this party sees who talks to whom anyway (a relay reached directly
   * sees both ends); the others are the ones shaping must keep in the dark.
   */
  learnsLinks: boolean;
  /** What the actors are: client addresses, or inbox ids. */
  actors: "address" | "inbox";
  observations: Observation[];
}
