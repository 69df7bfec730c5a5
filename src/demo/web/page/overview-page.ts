/**
 * The web demo's front page: the three people side by side, each in a frame of its own (its own
 * document, SDK and keys; the frames share nothing but the demo server and the relays), and the
 * operators' views below.
 */
import { loadSetup } from "./demo-server.js";
import { el } from "./dom.js";
import { showOperators } from "./operator-panel.js";

/** @example await startOverview(document.body); */
export async function startOverview(root: HTMLElement): Promise<void> {
  const setup = await loadSetup();
  const relays = setup.relays.map((r) => `relay ${r.label} at ${r.url}`).join(", ");
  const operators = el("section", { id: "operators" });
  root.replaceChildren(
    el(
      "header",
      { class: "overview" },
      el("h1", {}, "Shroud web demo"),
      el(
        "p",
        {},
        `Two federated relays (${relays}) and three people, each running the Shroud SDK and ` +
          "MLS in their own frame and talking to their own provider's relay only. Alice creates " +
          `"${setup.group}", invites bob and carol, they chat, and she removes one of them.`,
      ),
    ),
    el(
      "div",
      { class: "people" },
      ...setup.people.map((p) =>
        el("iframe", { id: p.name, src: `/?as=${encodeURIComponent(p.name)}`, title: p.name }),
      ),
    ),
    operators,
  );
  showOperators(operators);
}
