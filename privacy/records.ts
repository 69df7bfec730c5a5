/**
 * What the simulation records, each as one party could note it, with times in milliseconds of
 * performance.now(). Nothing here goes into the relays: the harness notes these beside them.
 */

/** One HTTP exchange on a client's own link (a network observer next to that client). */
export interface ClientLinkRecord {
  /** The client's source address. */
  client: string;
  start: number;
  end: number;
  method: string;
  /** Host and port the client spoke to. */
  server: string;
  path: string;
  /** Request body bytes (upstream). */
  up: number;
  /** Response body bytes (downstream). */
  down: number;
  status: number;
}

/** One HTTP exchange a relay started with another relay (on the link between them). */
export interface RelayLinkRecord {
  /** Label of the relay that sent it ("A", "B"). */
  from: string;
  /** Origin it went to. */
  to: string;
  start: number;
  end: number;
  what: "proxy" | "batch" | "descriptor" | "other";
  up: number;
  down: number;
}

/**
 * Something a relay's operator can note, from the relay's own handling, attributed to the
 * connection it arrived on (address and request number); `inbox` is a full hex inbox id.
 */
export type OperatorRecord = {
  relay: string;
  t: number;
  /** Source address of the connection the request arrived on ("" outside any request). */
  address: string;
  /** Which HTTP request it belongs to (0 outside any request). */
  request: number;
  /** Request body bytes of that HTTP request, as its content-length said. */
  bytes: number;
  path: string;
} & (
  | { what: "request"; kind: string; status: string }
  | { what: "deposit"; inbox: string }
  | { what: "fetch"; inbox: string; items: number }
  | { what: "ack"; inbox: string; removed: number }
  | { what: "batch-built"; real: number; batchBytes: number }
);

/** A message the simulated application sent, as only the harness knows it (ground truth). */
export interface SentMessage {
  id: number;
  from: string;
  /** Recipient client, or group name for a group post. */
  to: string;
  sentAt: number;
  /** When the SDK returned from the deposit call (or undefined when it failed). */
  depositedAt?: number;
  /** When each recipient's application read it. */
  receivedAt: Record<string, number>;
}

/** Everything one scenario run recorded. */
export interface RunRecords {
  clientLinks: ClientLinkRecord[];
  relayLinks: RelayLinkRecord[];
  operator: OperatorRecord[];
  messages: SentMessage[];
  /** Start and end of the stretch with no application traffic (polling only). */
  idle: { start: number; end: number };
  /** Start and end of the stretch with application traffic. */
  busy: { start: number; end: number };
  /** Transport failures the clients met (counted, not fatal). */
  errors: number;
}

/**
 * A new, empty set of records.
 *
 * @example const records = emptyRecords(); // then handed to the relays' taps and the clients
 */
export function emptyRecords(): RunRecords {
  return {
    clientLinks: [],
    relayLinks: [],
    operator: [],
    messages: [],
    idle: { start: 0, end: 0 },
    busy: { start: 0, end: 0 },
    errors: 0,
  };
}
