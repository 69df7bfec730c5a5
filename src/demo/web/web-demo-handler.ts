/**
 * The web demo's own HTTP surface, beside the two relays: the page (HTML, CSS and the bundled
 * SDK), the setup, the relays' signed descriptors, the card board and the operators' views.
 * It logs nothing, and answers only requests addressed to its own loopback origin, so another
 * site can neither read it through a rebound DNS name nor put cards on the board.
 */
import { MediaTypes } from "../../protocol/labels.js";
import type { DemoRelay, DemoRelays } from "../demo-relays.js";
import type { CardBoard } from "./card-board.js";
import { operatorEvents, operatorView } from "./operator-view.js";
import { ApiPaths, DEMO_PEOPLE, MAX_CARD_BYTES, type DemoSetup } from "./page/web-api.js";

/** The page's files, built by `npm run build` (esbuild) into dist/demo/web/assets. */
export interface WebAssets {
  html: string;
  css: string;
  script: string;
}

export interface WebDemoHandlerOptions {
  /** The demo server's own origin (http://127.0.0.1:PORT). */
  origin: string;
  relays: DemoRelays;
  assets: WebAssets;
  board: CardBoard;
  group: string;
  pollMs: number;
}

const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function text(body: string, status: number, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { ...COMMON_HEADERS, "content-type": type } });
}

function json(value: unknown): Response {
  return text(JSON.stringify(value), 200, "application/json");
}

/**
 * The page may reach only this server and the two relays, and load nothing from elsewhere: the
 * browser itself then refuses any other request the page's code might make.
 */
function contentSecurityPolicy(relays: DemoRelays): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${relays.a.url} ${relays.b.url}`,
    "frame-src 'self'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/**
 * @example
 * const handle = webDemoHandler({ origin, relays, assets, board: new CardBoard(), group, pollMs });
 * bound.setHandler(handle);
 */
export function webDemoHandler(
  options: WebDemoHandlerOptions,
): (request: Request) => Promise<Response> {
  const { origin, relays, assets, board } = options;
  const relayByLabel = new Map<string, DemoRelay>([
    ["A", relays.a],
    ["B", relays.b],
  ]);
  const setup: DemoSetup = {
    group: options.group,
    relays: [relays.a, relays.b].map((r) => ({ label: r.label, url: r.url })),
    people: [...DEMO_PEOPLE],
    pollMs: options.pollMs,
  };
  const host = new URL(origin).host;
  const csp = contentSecurityPolicy(relays);

  return async (request) => {
    const url = new URL(request.url);
    if (url.host !== host) return text("misdirected request", 421);
    const sentFrom = request.headers.get("origin");
    if (sentFrom !== null && sentFrom !== origin) return text("forbidden", 403);
    const path = url.pathname;
    const method = request.method;

    if (method === "PUT" && path.startsWith(`${ApiPaths.cards}/`)) {
      // A page's fetch always declares the length; refusing others keeps bodies bounded.
      const length = request.headers.get("content-length");
      if (length === null) return text("length required", 411);
      if (!(Number(length) <= MAX_CARD_BYTES)) return text("card too large", 413);
      const stored = board.put(path.slice(ApiPaths.cards.length + 1), await request.text());
      return stored ? text("stored", 200) : text("not one of the demo's people", 400);
    }
    if (method !== "GET") return text("method not allowed", 405);

    if (path === "/") {
      return new Response(assets.html, {
        headers: {
          ...COMMON_HEADERS,
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": csp,
        },
      });
    }
    if (path === "/page.css") return text(assets.css, 200, "text/css; charset=utf-8");
    if (path === "/app.js") return text(assets.script, 200, "text/javascript; charset=utf-8");
    if (path === ApiPaths.setup) return json(setup);
    if (path === ApiPaths.operators) return json(operatorView(relays));
    if (path === ApiPaths.operatorEvents) return json(operatorEvents(relays));
    if (path === ApiPaths.cards) return json(board.names());
    if (path.startsWith(`${ApiPaths.cards}/`)) {
      const card = board.get(path.slice(ApiPaths.cards.length + 1));
      return card === undefined ? text("no card yet", 404) : text(card, 200, "application/json");
    }
    if (path.startsWith(`${ApiPaths.descriptor}/`)) {
      const relay = relayByLabel.get(path.slice(ApiPaths.descriptor.length + 1));
      if (!relay) return text("no such relay", 404);
      // The relay's own signed bytes: the page verifies them against the relay's origin, so
      // this server can hand them out but not forge them.
      return new Response(new Uint8Array(await relay.relay.descriptor()), {
        headers: { ...COMMON_HEADERS, "content-type": MediaTypes.descriptor },
      });
    }
    return text("not found", 404);
  };
}
