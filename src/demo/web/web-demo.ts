/**
 * The web demo: the terminal demo's two federated relays (providers A and B, with their operator
 * recorders) and, beside them on another loopback port, a small server for a page on which three
 * people run the real SDK in the browser, each talking to their own provider's relay directly.
 */
import {
  bind,
  startDemoRelays,
  stopServer,
  type DemoBackend,
  type DemoRelays,
} from "../demo-relays.js";
import { GROUP_NAME } from "../story/create-group.js";
import { CardBoard } from "./card-board.js";
import { DEMO_PEOPLE } from "./page/web-api.js";
import { webDemoHandler, type WebAssets } from "./web-demo-handler.js";

export type { WebAssets } from "./web-demo-handler.js";

export interface WebDemoOptions {
  /** The page's files (see WebAssets). */
  assets: WebAssets;
  /** Default: the embedded in-memory store. */
  backend?: DemoBackend;
  /** Round length of both relays (default 150 ms, as in the terminal demo). */
  roundMs?: number;
  /** Milliseconds between a page's reads of its inboxes (default 400). */
  pollMs?: number;
}

export interface WebDemo {
  /** The page with all three people side by side and the operators' views. */
  url: string;
  /** One page per person. */
  people: { name: string; url: string }[];
  relays: DemoRelays;
  /** Stops the page server and both relays. */
  close(): Promise<void>;
}

/**
 * @example
 * const demo = await startWebDemo({ assets });
 * console.log(`open ${demo.url}`);
 * // ... until the user is done:
 * await demo.close();
 */
export async function startWebDemo(options: WebDemoOptions): Promise<WebDemo> {
  const relays = await startDemoRelays({
    backend: options.backend ?? "memory",
    roundMs: options.roundMs ?? 150,
  });
  let page;
  try {
    page = await bind();
  } catch (error) {
    await relays.close();
    throw error;
  }
  page.setHandler(
    webDemoHandler({
      origin: page.url,
      relays,
      assets: options.assets,
      board: new CardBoard(),
      group: GROUP_NAME,
      pollMs: options.pollMs ?? 400,
    }),
  );
  const server = page.server;
  let closing: Promise<void> | undefined;
  return {
    url: `${page.url}/`,
    people: DEMO_PEOPLE.map((p) => ({ name: p.name, url: `${page.url}/?as=${p.name}` })),
    relays,
    close: () =>
      (closing ??= (async () => {
        await stopServer(server, async () => undefined);
        await relays.close();
      })()),
  };
}
