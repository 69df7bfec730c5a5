/**
 * `npm run privacy`: how well observers link communication partners, per scenario, observer
 * and shaping profile. Simulated clients on their own loopback addresses drive the real SDK
 * against real relays in this process; each observer's view is recorded as that party could
 * record it, and a statistical disclosure attack ranks every client as each target's partner
 * (see docs/PRIVACY.md). Prints tables; --json writes every figure, --chart an SVG.
 */
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { argv, exit } from "node:process";
import { ShapingProfiles } from "../src/client/shaping-profile.js";
import { analyseGroupRun, analysePairRun, type ScenarioOutcome } from "./analysis.js";
import { renderChart } from "./chart-svg.js";
import { runGroupScenario } from "./group-scenario.js";
import { parseHarnessOptions, USAGE, UsageError, type HarnessOptions } from "./harness-options.js";
import { runPairScenario } from "./pair-scenario.js";
import type { RunRecords } from "./records.js";
import { attackTable, costTable, linkTable } from "./report.js";
import { scaledProfile, simTiming } from "./sim-timing.js";

/** Mean nominal gap between one group member's posts. */
const GROUP_POST_GAP_MS = 12_000;

/** The ground truth of a run for the JSON: each message with times from the run's start (ms). */
function messageLog(records: RunRecords) {
  const zero = records.idle.start;
  const at = (t: number | undefined) => (t === undefined ? null : Math.round(t - zero));
  return records.messages.map((m) => ({
    from: m.from,
    to: m.to,
    sent: at(m.sentAt),
    deposited: at(m.depositedAt),
    received: Object.fromEntries(Object.entries(m.receivedAt).map(([k, v]) => [k, at(v)])),
  }));
}

async function run(options: HarnessOptions): Promise<void> {
  const timing = simTiming(options.scale);
  const outcomes: ScenarioOutcome[] = [];
  const logs: unknown[] = [];
  const failures: string[] = [];
  const maxBusyMs = options.maxMinutes * 60_000;
  const started = performance.now();
  // Other work on the machine slows every timer; the load average says how busy it was.
  const loadBefore = loadavg()[0]!;
  for (const profileName of options.profiles) {
    const named = scaledProfile(ShapingProfiles[profileName], options.scale);
    const profile =
      options.lanes === "off" && named.kind !== "off" ? { ...named, autoLaneDrops: 0 } : named;
    for (const scenario of options.scenarios) {
      console.error(`privacy: ${scenario}, shaping ${profileName} ...`);
      const t0 = performance.now();
      try {
        if (scenario === "groups") {
          const result = await runGroupScenario(
            profile,
            timing,
            {
              sizes: options.groupSizes,
              posts: options.messages,
              postGapMs: GROUP_POST_GAP_MS,
              maxBusyMs,
            },
            (line) => console.error(line),
          );
          const seconds = (performance.now() - t0) / 1000;
          outcomes.push(analyseGroupRun(result, profileName, timing, seconds));
          logs.push({
            scenario,
            profile: profileName,
            cast: result.cast,
            messages: messageLog(result.records),
          });
        } else {
          const result = await runPairScenario(
            scenario,
            profile,
            timing,
            {
              pairs: options.pairs,
              background: options.background,
              messages: options.messages,
              maxBusyMs,
              lanes: options.lanes,
            },
            (line) => console.error(line),
          );
          const seconds = (performance.now() - t0) / 1000;
          outcomes.push(analysePairRun(result, profileName, timing, seconds));
          logs.push({
            scenario,
            profile: profileName,
            cast: result.cast,
            messages: messageLog(result.records),
          });
        }
      } catch (error) {
        // One run that cannot be set up (a relay that would not start, say) leaves the others.
        failures.push(`${scenario}, shaping ${profileName}: ${String(error)}`);
        console.error(`privacy: ${scenario}, shaping ${profileName} failed: ${String(error)}`);
        continue;
      }
      console.error(
        `privacy: ${scenario}, shaping ${profileName} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
    }
  }

  console.log(
    `Partner linking by observer (${options.pairs} pairs among ${options.pairs * 2 + options.background} clients; ` +
      `groups ${options.groupSizes.join("+")}; time scale ${options.scale}; ` +
      `lanes ${options.lanes}; ` +
      `${((performance.now() - started) / 60_000).toFixed(1)} min; ` +
      `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after)`,
  );
  for (const scenario of options.scenarios) {
    console.log(`\n${scenario}\n${attackTable(outcomes, scenario)}`);
  }
  console.log(`\nCost per profile (nominal time)\n${costTable(outcomes)}`);
  if (outcomes.some((o) => o.link)) {
    console.log(`\nLink between relays A -> B (two-hop)\n${linkTable(outcomes)}`);
  }
  const document = {
    harness: "shroud privacy",
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
    options: { ...options, json: undefined, chart: undefined },
    timing,
    profiles: Object.fromEntries(options.profiles.map((p) => [p, ShapingProfiles[p]])),
    outcomes,
    failures,
    runs: logs,
  };
  if (options.json) await writeFile(options.json, JSON.stringify(document, null, 1));
  if (options.chart) await writeFile(options.chart, renderChart(document));
  if (failures.length > 0) {
    console.log(`\nRuns that failed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
    process.exitCode = 1;
  }
}

try {
  await run(parseHarnessOptions(argv.slice(2)));
} catch (error) {
  if (error instanceof UsageError) {
    if (error.message) console.error(`privacy: ${error.message}`);
    console.error(USAGE);
    exit(2);
  }
  throw error;
}
