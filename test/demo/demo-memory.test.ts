/**
 * The demo's scenario as a test on the embedded store: two federated relays over real HTTP,
 * members on both, every deposit and fetch routed through the other provider's relay.
 */
import { expect, it } from "vitest";
import { DemoError, runDemo } from "../../src/demo/demo-scenario.js";
import { expectDemo } from "./demo-expectations.js";

it("runs the demo on the embedded store: every check holds, operators learn no names", async () => {
  const lines: string[] = [];
  const result = await runDemo({ backend: "memory", log: (line) => lines.push(line) });
  expectDemo(result, "memory");
  expect(lines).toEqual(result.lines);
  expect(result.stateSearches[0]!.what).toMatch(/inbox store and round pool/);
  // Three columns side by side at the default width.
  expect(lines.some((l) => /^what happened +│ relay A's operator saw +│ relay B's/.test(l))).toBe(
    true,
  );
}, 300_000);

it("lays the steps out one part after another on a narrow terminal", async () => {
  const result = await runDemo({ backend: "memory", width: 80 });
  expect(result.lines.every((l) => l.length <= 80)).toBe(true);
  expect(result.lines).toContain("  relay A's operator saw:");
  expect(result.lines.some((l) => l.includes(" │ "))).toBe(false);
}, 300_000);

it("fails with a DemoError when an outcome does not come in time, and still closes the relays", async () => {
  const lines: string[] = [];
  // A 1 ms wait cannot see a Welcome or message that needs a round to close.
  const failed = runDemo({ backend: "memory", waitMs: 1, log: (line) => lines.push(line) });
  await expect(failed).rejects.toThrow(DemoError);
  await expect(failed).rejects.toThrow(/never arrived|timed out waiting/);
  const urls = lines.flatMap((l) => /provider [AB]'s relay: (http:\/\/\S+)/.exec(l)?.[1] ?? []);
  expect(urls).toHaveLength(2);
  for (const url of urls) await expect(fetch(new URL("/healthz", url))).rejects.toThrow();
}, 300_000);
