/**
 * The web demo page's entry point (bundled for the browser by esbuild at `npm run build`):
 * `?as=NAME` runs one person, `?view=operators` shows only the operators' views, and the bare
 * page shows everyone and the operators together.
 */
import { showOperators } from "./operator-panel.js";
import { startOverview } from "./overview-page.js";
import { startPerson } from "./person-app.js";

const params = new URLSearchParams(location.search);
const person = params.get("as");
const root = document.getElementById("app")!;

function failed(error: unknown): void {
  root.dataset["failed"] = error instanceof Error ? error.message : String(error);
  root.append(`The demo page failed: ${root.dataset["failed"]}`);
}

if (person !== null) {
  document.body.classList.add("person-page");
  startPerson(person, root).catch(failed);
} else if (params.get("view") === "operators") {
  showOperators(root);
} else {
  startOverview(root).catch(failed);
}
