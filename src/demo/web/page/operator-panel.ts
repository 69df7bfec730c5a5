/**
 * What each relay's operator saw, read from the demo server every second: the same recorder and
 * summary as the terminal demo, for the whole run so far.
 */
import { loadOperatorView } from "./demo-server.js";
import { el } from "./dom.js";
import type { OperatorSummary } from "./web-api.js";

const REFRESH_MS = 1000;

function column(summary: OperatorSummary): HTMLElement {
  return el(
    "section",
    { class: "operator", "data-relay": summary.label },
    el("h3", {}, `relay ${summary.label}'s operator saw (${summary.requests} HTTP requests)`),
    el("pre", {}, summary.lines.join("\n")),
  );
}

/**
 * Fills `parent` with the operators' views and keeps them current while the page is open.
 *
 * @example showOperators(document.getElementById("operators")!);
 */
export function showOperators(parent: HTMLElement): void {
  const body = el("div", { class: "operators" }, "loading…");
  parent.append(
    el("h2", {}, "What each relay's operator saw"),
    el(
      "p",
      { class: "note" },
      "Recorded from the relays' own request handling and storage: request and stored sizes " +
        "(buckets), rounds, inbox ids that change every epoch. No names, no group, no text, " +
        "and no times.",
    ),
    body,
  );
  const refresh = async () => {
    try {
      const view = await loadOperatorView();
      body.replaceChildren(...view.relays.map(column));
    } catch {
      // The demo server stopped (Ctrl-C): keep the last view.
      return;
    }
    setTimeout(() => void refresh(), REFRESH_MS);
  };
  void refresh();
}
