import { normalizeOrigin } from "../protocol/descriptor.js";
import { RelayClient } from "./relay-client.js";

/**
 * Routes a member's traffic through its ingress relay: requests for the ingress itself go
 * direct, requests for any other relay through it (forwards and proxied fetches), with one
 * client per target relay.
 *
 * @example
 * const route = ingressRouter(await RelayClient.connect("https://a.example"));
 * const toB = await route("https://b.example"); // B reached only through A
 */
export function ingressRouter(ingress: RelayClient): (origin: string) => Promise<RelayClient> {
  const clients = new Map<string, Promise<RelayClient>>();
  return (origin) => {
    const target = normalizeOrigin(origin);
    if (target === ingress.origin) return Promise.resolve(ingress);
    let client = clients.get(target);
    if (!client) {
      client = RelayClient.connectVia(target, ingress);
      clients.set(target, client);
    }
    return client;
  };
}
