/**
 * Each observer's view of a run, cut from the records to exactly what that party sees.
 *
 *   network      every client's own link to its first relay (a network observer per client,
 *                put together: one in front of the relay): time, bytes up and down
 *   relay        a relay reached directly, its operator: client address, request kind, whether
 *                a fetch found something, the inbox id
 *   ingress      the ingress relay A's operator: client address, request kind (forward, proxy,
 *                peer_descriptor) and bucket; never an inbox id
 *   inbox-relay  the inbox relay B's operator: per inbox id, deposits (arriving in A's batches),
 *                fetches (and whether they found something) and acks; never a client address
 *   global       every link: the clients' links, plus for each client request whether a
 *                request from A to B began while it was under way (a proxied one)
 */
import type { Observation, ObserverView } from "./observation.js";
import type { ClientLinkRecord, OperatorRecord, RunRecords } from "./records.js";

function linkObservations(links: readonly ClientLinkRecord[], from: number): Observation[] {
  return links
    .filter((l) => l.start >= from)
    .map((l) => ({ t: l.start, actor: l.client, label: `${l.method} ${l.up}/${l.down}` }));
}

/** One observation per HTTP request a relay's operator saw, from the records of that request. */
function operatorObservations(
  records: readonly OperatorRecord[],
  relay: string,
  clients: ReadonlySet<string>,
  from: number,
  label: (kind: string, bytes: number, found: boolean) => string,
): Observation[] {
  const byRequest = new Map<number, OperatorRecord[]>();
  for (const r of records) {
    if (r.relay !== relay || r.request === 0 || r.t < from || !clients.has(r.address)) continue;
    const list = byRequest.get(r.request) ?? [];
    list.push(r);
    byRequest.set(r.request, list);
  }
  const out: Observation[] = [];
  for (const list of byRequest.values()) {
    const request = list.find((r) => r.what === "request");
    if (!request || request.what !== "request") continue;
    const touched = list.find(
      (r) => r.what === "deposit" || r.what === "fetch" || r.what === "ack",
    );
    const found = list.some((r) => r.what === "fetch" && r.items > 0);
    out.push({
      t: list[0]!.t,
      actor: request.address,
      label: label(request.kind, request.bytes, found),
      ...(touched && "inbox" in touched ? { inbox: touched.inbox } : {}),
    });
  }
  return out;
}

/** What the inbox relay B sees per inbox id (it never sees a client address). */
function inboxRelayObservations(records: readonly OperatorRecord[], from: number): Observation[] {
  const out: Observation[] = [];
  for (const r of records) {
    if (r.relay !== "B" || r.t < from) continue;
    if (r.what === "deposit")
      out.push({ t: r.t, actor: r.inbox, label: "deposit", inbox: r.inbox });
    if (r.what === "fetch") {
      out.push({
        t: r.t,
        actor: r.inbox,
        label: r.items > 0 ? "fetch found" : "fetch",
        inbox: r.inbox,
      });
    }
    if (r.what === "ack") out.push({ t: r.t, actor: r.inbox, label: "ack", inbox: r.inbox });
  }
  return out;
}

/**
 * The views of a run whose clients are `clients`: for one relay (labelled "R") or two ("A" the
 * ingress, "B" the inbox relay).
 *
 * @example const [network, relay] = observerViews(run.records, addresses, false);
 */
export function observerViews(
  records: RunRecords,
  clients: readonly string[],
  twoHop: boolean,
): ObserverView[] {
  const from = records.idle.start;
  const known = new Set(clients);
  const network: ObserverView = {
    id: "network",
    title: twoHop
      ? "network, clients' links to the ingress"
      : "network, clients' links to the relay",
    learnsLinks: false,
    actors: "address",
    observations: linkObservations(records.clientLinks, from),
  };
  if (!twoHop) {
    return [
      network,
      {
        id: "relay",
        title: "relay operator (reached directly)",
        learnsLinks: true,
        actors: "address",
        observations: operatorObservations(
          records.operator,
          "R",
          known,
          from,
          (kind, _bytes, found) => (found ? `${kind} found` : kind),
        ),
      },
    ];
  }
  // A proxied request leaves A for B while its client's request is under way, smaller than it.
  const proxies = records.relayLinks
    .filter((l) => l.from === "A" && l.what === "proxy")
    .sort((a, b) => a.start - b.start);
  const proxiedDuring = (link: ClientLinkRecord) => {
    let lo = 0;
    let hi = proxies.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (proxies[mid]!.start < link.start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < proxies.length && proxies[i]!.start <= link.end; i++) {
      if (proxies[i]!.up < link.up) return true;
    }
    return false;
  };
  return [
    network,
    {
      id: "ingress",
      title: "ingress relay A's operator",
      learnsLinks: false,
      actors: "address",
      observations: operatorObservations(
        records.operator,
        "A",
        known,
        from,
        (kind, bytes) => `${kind} ${bytes}`,
      ),
    },
    {
      id: "inbox-relay",
      title: "inbox relay B's operator (inbox ids, no addresses)",
      learnsLinks: false,
      actors: "inbox",
      observations: inboxRelayObservations(records.operator, from),
    },
    {
      id: "global",
      title: "global passive observer (every link)",
      learnsLinks: false,
      actors: "address",
      observations: records.clientLinks
        .filter((l) => l.start >= from)
        .map((l) => ({
          t: l.start,
          actor: l.client,
          label: `${l.method} ${l.up}/${l.down}${proxiedDuring(l) ? " +hop" : ""}`,
        })),
    },
  ];
}
