/**
 * What a relay's operator could see, recorded from the relay's real handling: decorators around
 * its storage ports, its metrics, its outbound HTTP and its HTTP handler. They only note what the
 * relay itself holds or computes at that point (inbox ids, sizes, request kinds, round numbers),
 * so the demo's operator view cannot show more than an operator has. Nothing here records a
 * time: events are only kept in the order they happened.
 */
import { toHex } from "../protocol/bytes.js";
import type { FederationQueue } from "../relay/ports/federation-queue.js";
import type { InboxStore } from "../relay/ports/inbox-store.js";
import { MetricName, type MetricLabels, type Metrics } from "../relay/ports/metrics.js";
import type { RoundPool } from "../relay/ports/round-pool.js";
import type { RelayPorts } from "../relay/relay.js";
import { tap } from "./port-tap.js";
import { textLogLine } from "../relay/ports/logger.js";

/** One thing the relay did, as its operator could log it. Inbox ids are full hex. */
export type OperatorEvent =
  /** An HTTP request the relay answered: body and answer sizes, no addresses. */
  | {
      kind: "http-in";
      method: string;
      path: string;
      bytes: number;
      status: number;
      answerBytes: number;
    }
  /** A request opened and handled (the relay's own `requests` metric): kind and status. */
  | { kind: "opened"; request: string; status: string; count: number }
  /** An inbox came into being with its first deposit. */
  | { kind: "inbox-created"; inbox: string }
  /** A round closed and its (shuffled) items were appended: per item, inbox and stored size. */
  | { kind: "round"; round: number; items: { inbox: string; bytes: number }[] }
  /** A fetch read an inbox (the relay derives the id from the read secret). */
  | { kind: "fetched"; inbox: string; items: number }
  /** An ack deleted items from an inbox. */
  | { kind: "acked"; inbox: string; removed: number }
  /** A forward was held for a peer until the next batch: slot size only. */
  | { kind: "held"; peer: string; bytes: number }
  /** A federation batch was built for a peer: how many slots were real, and its size. */
  | { kind: "batch-built"; peer: string; real: number; bytes: number }
  /** An outbound HTTP request to a peer (proxy, batch delivery, descriptor). */
  | {
      kind: "http-out";
      peer: string;
      what: "proxy" | "batch" | "descriptor" | "other";
      bytes: number;
      status: number | "failed";
    }
  /** Something the relay logged. */
  | { kind: "log"; message: string };

/**
 * Collects one relay's operator events and what it handed its storage.
 *
 * @example
 * const recorder = new OperatorRecorder();
 * const relay = await Relay.open(config, recorder.wrapPorts(memoryPorts()));
 * const mark = recorder.mark();
 * // ... traffic ...
 * recorder.since(mark); // the events of that stretch
 */
export class OperatorRecorder {
  readonly events: OperatorEvent[] = [];
  /**
   * What the relay handed its federation queue that came from clients: every forward it held
   * and every batch that carried one (batches of cover only are left out).
   */
  readonly federationWrites: Uint8Array[] = [];
  #rounds = 0;

  push(event: OperatorEvent): void {
    this.events.push(event);
  }

  /** A position in the event list, for `since`. */
  mark(): number {
    return this.events.length;
  }

  since(mark: number): OperatorEvent[] {
    return this.events.slice(mark);
  }

  /** Round closes the relay has run (empty rounds included): the operator's round counter. */
  get rounds(): number {
    return this.#rounds;
  }

  /** The relay's ports with recording around them; `ports` itself is left as it is. */
  wrapPorts<P extends RelayPorts>(ports: P): RelayPorts {
    return {
      ...ports,
      inboxes: this.#inboxes(ports.inboxes),
      pool: this.#pool(ports.pool),
      federation: this.#federation(ports.federation),
      metrics: this.#metrics(ports.metrics),
      http: this.wrapOutbound(ports.http ?? ((input, init) => fetch(input, init))),
      logger: {
        log: (level, _event, message, fields) =>
          this.push({ kind: "log", message: textLogLine(level, message, fields) }),
      },
    };
  }

  #inboxes(inner: InboxStore): InboxStore {
    return tap(inner, {
      admit: ([inboxId], result) => {
        if (result !== "full" && result.created) {
          this.push({ kind: "inbox-created", inbox: toHex(inboxId) });
        }
      },
      appendRound: ([entries]) =>
        this.push({
          kind: "round",
          round: this.#rounds,
          items: entries.map((e) => ({ inbox: toHex(e.inboxId), bytes: e.item.length })),
        }),
      fetch: ([inboxId], found) => {
        if (found) this.push({ kind: "fetched", inbox: toHex(inboxId), items: found.items.length });
      },
      ack: ([inboxId], removed) => {
        if (removed !== undefined) this.push({ kind: "acked", inbox: toHex(inboxId), removed });
      },
    });
  }

  #pool(inner: RoundPool): RoundPool {
    return tap(inner, {
      close: () => {
        this.#rounds++;
      },
    });
  }

  #federation(inner: FederationQueue): FederationQueue {
    return tap(inner, {
      hold: ([peer, slot]) => {
        this.federationWrites.push(slot);
        this.push({ kind: "held", peer, bytes: slot.length });
      },
      send: ([claim, batch]) => {
        if (claim.slots.length > 0) this.federationWrites.push(batch);
        this.push({
          kind: "batch-built",
          peer: claim.peer,
          real: claim.slots.length,
          bytes: batch.length,
        });
      },
    });
  }

  #metrics(inner: Metrics): Metrics {
    return {
      count: (name: MetricName, labels?: MetricLabels, by = 1) => {
        if (name === MetricName.requests && labels) {
          this.push({
            kind: "opened",
            request: labels["kind"] ?? "?",
            status: labels["status"] ?? "?",
            count: by,
          });
        }
        inner.count(name, labels, by);
      },
      observe: (name, value, labels) => inner.observe(name, value, labels),
    };
  }

  /** The relay's outbound HTTP (to peers), recording each request's purpose and size. */
  wrapOutbound(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const path = url.pathname;
      const what =
        path === "/v1/relay"
          ? "proxy"
          : path === "/v1/federation"
            ? "batch"
            : path === "/.well-known/shroud"
              ? "descriptor"
              : "other";
      const body = init?.body;
      const bytes = body instanceof Uint8Array ? body.length : 0;
      try {
        const response = await inner(input, init);
        this.push({ kind: "http-out", peer: url.origin, what, bytes, status: response.status });
        return response;
      } catch (error) {
        this.push({ kind: "http-out", peer: url.origin, what, bytes, status: "failed" });
        throw error;
      }
    };
  }

  /**
   * The relay's HTTP handler, recording each request's method, path, body size, status and
   * answer size. Bodies are measured on clones, so the relay reads the request as sent.
   */
  wrapHandler(
    inner: (request: Request) => Response | Promise<Response>,
  ): (request: Request) => Promise<Response> {
    return async (request) => {
      const path = new URL(request.url).pathname;
      const bytes =
        request.method === "POST" ? (await request.clone().arrayBuffer()).byteLength : 0;
      const response = await inner(request);
      const answerBytes = (await response.clone().arrayBuffer()).byteLength;
      this.push({
        kind: "http-in",
        method: request.method,
        path,
        bytes,
        status: response.status,
        answerBytes,
      });
      return response;
    };
  }
}
