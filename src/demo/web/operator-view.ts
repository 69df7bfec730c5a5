/** What each relay's operator saw, as the web demo's page shows it: the terminal demo's summary. */
import type { DemoRelays } from "../demo-relays.js";
import { operatorLines } from "../demo-render.js";
import type { OperatorEvent } from "../operator-recorder.js";
import type { OperatorView, ProviderLabel } from "./page/web-api.js";

/**
 * Summarises every event each relay's recorder holds, naming the other relay by its label.
 *
 * @example const view = operatorView(relays); // view.relays[0].lines: ["POST /v1/relay ×12: ..."]
 */
export function operatorView(relays: DemoRelays): OperatorView {
  const { a, b } = relays;
  return {
    relays: [
      { relay: a, peer: b },
      { relay: b, peer: a },
    ].map(({ relay, peer }) => ({
      label: relay.label,
      url: relay.url,
      requests: relay.recorder.events.filter((e) => e.kind === "http-in").length,
      lines: operatorLines(relay.recorder.events, new Map([[peer.url, peer.label]])),
    })),
  };
}

/** Every event of the run per relay, for whoever wants more than the summary (the test does). */
export function operatorEvents(relays: DemoRelays): Record<ProviderLabel, OperatorEvent[]> {
  return { A: relays.a.recorder.events, B: relays.b.recorder.events };
}
