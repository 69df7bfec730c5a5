/**
 * The page's calls to the web demo's server (its own origin): setup, cards, operators' views,
 * and the relays' signed descriptors, so that a relay never sees a GET from a page.
 */
import { ApiPaths, type DemoSetup, type OperatorView } from "./web-api.js";

async function ok(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
  return response;
}

export async function loadSetup(): Promise<DemoSetup> {
  return (await (await ok(await fetch(ApiPaths.setup), "setup")).json()) as DemoSetup;
}

export async function loadOperatorView(): Promise<OperatorView> {
  const response = await ok(await fetch(ApiPaths.operators), "operators");
  return (await response.json()) as OperatorView;
}

/** Puts `name`'s card on the board, for the others to add them to a group. */
export async function putCard(name: string, card: string): Promise<void> {
  await ok(
    await fetch(`${ApiPaths.cards}/${encodeURIComponent(name)}`, { method: "PUT", body: card }),
    "card",
  );
}

/** The names whose cards are on the board. */
export async function cardNames(): Promise<string[]> {
  return (await (await ok(await fetch(ApiPaths.cards), "cards")).json()) as string[];
}

/** `name`'s card as JSON (cardFromJson parses and checks it). */
export async function getCard(name: string): Promise<string> {
  const response = await fetch(`${ApiPaths.cards}/${encodeURIComponent(name)}`);
  return (await ok(response, `${name}'s card`)).text();
}

/**
 * The fetch the page's RelayClient uses: a relay's descriptor comes from the demo server (the
 * same signed bytes, verified by the client against the relay's origin), and every other
 * request goes to the relay as the SDK made it, after `onRelayPost` has seen its size.
 *
 * @example
 * const client = await RelayClient.connect(url, { fetch: relayFetch(setup, count), shaping });
 */
export function relayFetch(setup: DemoSetup, onRelayPost: (bytes: number) => void): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const relay = setup.relays.find((r) => r.url === url.origin);
    if (relay && url.pathname === "/.well-known/shroud") {
      return fetch(`${ApiPaths.descriptor}/${relay.label}`);
    }
    if (init?.body instanceof Uint8Array) onRelayPost(init.body.length);
    return fetch(input, init);
  };
}
