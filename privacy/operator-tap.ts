/**
 * A relay operator's notebook: decorators around a relay's ports that note, with the time and
 * the connection the running request arrived on (see request-context.ts), what the relay itself
 * handles at that point: request kinds and statuses, the inbox id of every deposit, fetch and
 * ack, batches it builds, and its outbound requests to other relays (the link between them).
 * A real operator could add exactly this to its relay; the relay code is not changed.
 */
import type { MemoryPorts } from "../src/adapters/memory/memory-ports.js";
import { toHex } from "../src/protocol/bytes.js";
import type { FederationQueue } from "../src/relay/ports/federation-queue.js";
import type { InboxStore } from "../src/relay/ports/inbox-store.js";
import { MetricName, type Metrics } from "../src/relay/ports/metrics.js";
import type { RelayPorts } from "../src/relay/relay.js";
import { tap } from "../src/demo/port-tap.js";
import type { OperatorRecord, RelayLinkRecord } from "./records.js";
import { currentRequest } from "./request-context.js";

type Body = OperatorRecord extends infer R
  ? R extends unknown
    ? Omit<R, keyof Base>
    : never
  : never;
type Base = Pick<OperatorRecord, "relay" | "t" | "address" | "request" | "bytes" | "path">;

/**
 * Wraps `ports` of relay `label` so that its operator's view lands in `operator` and its
 * outbound requests to other relays in `links`.
 *
 * @example
 * const ports = operatorTap(memoryPorts(), "A", records.operator, records.relayLinks);
 */
export function operatorTap(
  ports: MemoryPorts,
  label: string,
  operator: OperatorRecord[],
  links: RelayLinkRecord[],
): RelayPorts {
  const note = (body: Body) => {
    const context = currentRequest();
    operator.push({
      relay: label,
      t: performance.now(),
      address: context?.address ?? "",
      request: context?.request ?? 0,
      bytes: context?.bytes ?? 0,
      path: context?.path ?? "",
      ...body,
    } as OperatorRecord);
  };
  const inboxes = tap<InboxStore>(ports.inboxes, {
    admit: ([inboxId], result) => {
      if (result !== "full") note({ what: "deposit", inbox: toHex(inboxId) });
    },
    fetch: ([inboxId], found) =>
      note({ what: "fetch", inbox: toHex(inboxId), items: found?.items.length ?? 0 }),
    ack: ([inboxId], removed) =>
      note({ what: "ack", inbox: toHex(inboxId), removed: removed ?? 0 }),
  });
  const federation = tap<FederationQueue>(ports.federation, {
    send: ([claim, batch]) =>
      note({ what: "batch-built", real: claim.slots.length, batchBytes: batch.length }),
  });
  const metrics: Metrics = {
    count: (name, labels, by) => {
      if (name === MetricName.requests && labels) {
        note({ what: "request", kind: labels["kind"] ?? "?", status: labels["status"] ?? "?" });
      }
      ports.metrics.count(name, labels, by);
    },
    observe: (name, value, labels) => ports.metrics.observe(name, value, labels),
  };
  const inner =
    ports.http ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const http: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const what =
      url.pathname === "/v1/relay"
        ? "proxy"
        : url.pathname === "/v1/federation"
          ? "batch"
          : url.pathname === "/.well-known/shroud"
            ? "descriptor"
            : "other";
    const body = init?.body;
    const up = body instanceof Uint8Array ? body.length : 0;
    const start = performance.now();
    const response = await inner(input, init);
    // The relay reads the answer itself; measure a copy so its reading is unchanged.
    const down = (await response.clone().arrayBuffer()).byteLength;
    links.push({ from: label, to: url.origin, start, end: performance.now(), what, up, down });
    return response;
  };
  return { ...ports, inboxes, federation, metrics, http };
}
