/**
 * A fetch for one simulated client: every connection leaves from the client's own loopback
 * address (127.0.0.x), so relays see distinct clients, and every exchange is noted as a network
 * observer on that client's link would see it: when, to where, how many bytes each way.
 */
import { boundFetcher, type BoundFetcher } from "../testkit/bound-fetch.js";
import type { ClientLinkRecord } from "./records.js";

export type BoundFetch = BoundFetcher;

/**
 * @example
 * const { fetch, close } = boundFetch("127.0.0.2", records.clientLinks);
 * const client = await RelayClient.connect(url, { fetch });
 */
export function boundFetch(localAddress: string, link: ClientLinkRecord[]): BoundFetch {
  return boundFetcher(localAddress, (e) =>
    link.push({
      client: localAddress,
      start: e.start,
      end: e.end,
      method: e.method,
      server: e.url.host,
      path: e.url.pathname,
      up: e.up,
      down: e.down,
      status: e.status,
    }),
  );
}
