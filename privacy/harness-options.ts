/** Command-line options of `npm run privacy` (see docs/PRIVACY.md). */
import { ShapingProfiles, type ShapingProfileName } from "../src/client/shaping-profile.js";

export type ScenarioName = "direct" | "two-hop" | "groups";

/**
 * Lanes of drop cover: `auto`, the SDK's default (a deposit to a contact opens a lane for the
 * conversation); `peers`, every peer a lane from the start (RelayClient.coverContact); `off`,
 * none (the profile's `autoLaneDrops` 0).
 */
export type LaneMode = "auto" | "peers" | "off";
export const LANE_MODES: readonly LaneMode[] = ["auto", "peers", "off"];
export const SCENARIOS: readonly ScenarioName[] = ["direct", "two-hop", "groups"];

export interface HarnessOptions {
  scenarios: ScenarioName[];
  profiles: ShapingProfileName[];
  /** Messages each pair's target sends (posts each group gets). */
  messages: number;
  pairs: number;
  background: number;
  groupSizes: number[];
  /** Wall-clock ms per nominal ms. */
  scale: number;
  /** Most wall-clock minutes of messages per run before it is cut short. */
  maxMinutes: number;
  lanes: LaneMode;
  json?: string;
  chart?: string;
}

export const USAGE = `usage: npm run privacy -- [options]

Runs simulated clients on the real SDK against real relays on loopback, records what each
observer sees and runs a statistical disclosure attack on each view.

  --scenario NAME    direct, two-hop or groups (repeatable; default: all three)
  --profile NAME     ${Object.keys(ShapingProfiles).join(", ")} (repeatable; default: all)
  --messages N       messages each pair's target sends, posts each group gets (default 10)
  --quick            a short run: --messages 4
  --pairs N          pairs of partners (default 8)
  --background N     background clients (default 8)
  --time-scale X     wall-clock seconds per nominal second (default 0.5)
  --max-minutes N    cut a run's messages short after N wall-clock minutes (default 20)
  --lanes MODE       lanes of drop cover: auto (the SDK's default: a deposit opens one for
                     the conversation), peers (every peer one from the start) or off
  --json FILE        write every figure of the run to FILE
  --chart FILE       write an SVG chart (partner rank against messages) to FILE
`;

export class UsageError extends Error {}

function positive(flag: string, value: string | undefined, integer = true): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} needs a positive ${integer ? "integer" : "number"}`);
  }
  return n;
}

/**
 * @example parseHarnessOptions(["--quick", "--profile", "off"]).messages // 4
 */
export function parseHarnessOptions(argv: readonly string[]): HarnessOptions {
  const options: HarnessOptions = {
    scenarios: [],
    profiles: [],
    messages: 10,
    pairs: 8,
    background: 8,
    groupSizes: [3, 3, 3, 4, 4],
    scale: 0.5,
    maxMinutes: 20,
    lanes: "auto",
  };
  let messagesGiven = false;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case "--scenario": {
        const name = value() as ScenarioName;
        if (!SCENARIOS.includes(name)) throw new UsageError(`unknown scenario ${String(name)}`);
        options.scenarios.push(name);
        break;
      }
      case "--profile": {
        const name = value() as ShapingProfileName;
        if (!(name in ShapingProfiles)) throw new UsageError(`unknown profile ${String(name)}`);
        options.profiles.push(name);
        break;
      }
      case "--messages":
        options.messages = positive(flag, value());
        messagesGiven = true;
        break;
      case "--quick":
        quick = true;
        break;
      case "--pairs":
        options.pairs = positive(flag, value());
        break;
      case "--background":
        options.background = Number(value());
        if (!Number.isInteger(options.background) || options.background < 0) {
          throw new UsageError("--background needs a non-negative integer");
        }
        break;
      case "--time-scale":
        options.scale = positive(flag, value(), false);
        break;
      case "--max-minutes":
        options.maxMinutes = positive(flag, value(), false);
        break;
      case "--lanes": {
        const mode = value() as LaneMode;
        if (!LANE_MODES.includes(mode)) throw new UsageError(`unknown lane mode ${String(mode)}`);
        options.lanes = mode;
        break;
      }
      case "--json":
        options.json = value();
        if (!options.json) throw new UsageError("--json needs a file name");
        break;
      case "--chart":
        options.chart = value();
        if (!options.chart) throw new UsageError("--chart needs a file name");
        break;
      case "--help":
      case "-h":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (quick && !messagesGiven) options.messages = 4;
  if (options.scenarios.length === 0) options.scenarios = [...SCENARIOS];
  if (options.profiles.length === 0) {
    options.profiles = Object.keys(ShapingProfiles) as ShapingProfileName[];
  }
  if (options.pairs * 2 + options.background > 250) {
    throw new UsageError("at most 250 clients (loopback addresses 127.0.0.2 to 127.0.0.251)");
  }
  return options;
}
