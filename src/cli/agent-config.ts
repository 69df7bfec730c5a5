/**
 * `shroud agent`'s settings, read once from its flags and the environment into a typed object.
 * Defaults: the profile in ./.shroud-profile (as every profile command), the SDK's named
 * profile `constant` (a 4 KiB request every 500 ms per relay client), and the groups read on
 * the agent's own timer, every 20 slot gaps on average (10 s).
 */
import { ShapingProfiles, type ShapingProfile } from "../client/shaping-profile.js";
import { parseOptions, UsageError } from "./cli-support.js";
import { PROFILE_OPTIONS, profileDir, profileSecrets } from "./profile-context.js";
import type { ProfileSecrets } from "./profile-store.js";

export const SHAPING_NAMES = ["off", "constant", "poisson"] as const;
export type ShapingName = (typeof SHAPING_NAMES)[number];

/** Slot gaps the flag accepts, in ms: from a test's pace to one request every ten minutes. */
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 600_000;
/** The agent reads its groups every this many slot gaps on average. */
export const SYNC_GAPS_PER_READ = 20;

export interface AgentConfig {
  dir: string;
  secrets: ProfileSecrets;
  shapingName: ShapingName;
  /** What every relay client of the agent sends on. */
  shaping: ShapingProfile;
  /** The slot gap (the mean gap for poisson; for off, what paces the reading of the groups). */
  intervalMs: number;
  /** Mean gap between two readings of the groups (exponential gaps). */
  syncMeanMs: number;
}

export const AGENT_OPTIONS = {
  ...PROFILE_OPTIONS,
  shaping: { type: "string" },
  "shaping-interval-ms": { type: "string" },
} as const;

function intervalOption(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= MIN_INTERVAL_MS && n <= MAX_INTERVAL_MS)) {
    throw new UsageError(
      `--shaping-interval-ms must be ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}, got "${text}"`,
    );
  }
  return n;
}

/**
 * The settings from `args` (flags win over SHROUD_SHAPING and SHROUD_SHAPING_INTERVAL_MS), or
 * "help" for --help.
 *
 * @example
 * const config = agentConfig(["--profile", "alice", "--shaping", "poisson"], process.env);
 */
export function agentConfig(args: string[], env: NodeJS.ProcessEnv): AgentConfig | "help" {
  const values = parseOptions(args, AGENT_OPTIONS, "agent");
  if (values.help) return "help";
  const name = values.shaping ?? (env["SHROUD_SHAPING"] || "constant");
  if (!(SHAPING_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`--shaping must be off, constant or poisson, got "${name}"`);
  }
  const shapingName = name as ShapingName;
  const preset = ShapingProfiles.constant;
  const intervalMs = intervalOption(
    values["shaping-interval-ms"] ?? env["SHROUD_SHAPING_INTERVAL_MS"],
    preset.intervalMs,
  );
  const shaping: ShapingProfile =
    shapingName === "off"
      ? ShapingProfiles.off
      : shapingName === "constant"
        ? { kind: "constant", intervalMs, cellSize: preset.cellSize }
        : {
            kind: "poisson",
            meanIntervalMs: intervalMs,
            cellSize: ShapingProfiles.poisson.cellSize,
          };
  return {
    dir: profileDir(values.profile, env),
    secrets: profileSecrets(values["key-file"], env),
    shapingName,
    shaping,
    intervalMs,
    syncMeanMs: intervalMs * SYNC_GAPS_PER_READ,
  };
}

/** One line saying how the agent sends, for its start-up line and `agent status`. */
export function describeShaping(config: AgentConfig): string {
  const { shaping } = config;
  switch (shaping.kind) {
    case "off":
      return "shaping off: requests leave when made";
    case "constant":
      return `shaping constant: a ${shaping.cellSize}-byte request every ${shaping.intervalMs} ms per relay`;
    case "poisson":
      return (
        `shaping poisson: ${shaping.cellSize}-byte requests ${shaping.meanIntervalMs} ms apart ` +
        "on average per relay"
      );
  }
}
