/** The relay's log lines on Node: levels filtered, text and JSON formats, fixed keys kept. */
import { describe, expect, it } from "vitest";
import { StreamLogger } from "../../src/adapters/node/stream-logger.js";

function capture(options: ConstructorParameters<typeof StreamLogger>[1]) {
  const lines: string[] = [];
  return { lines, logger: new StreamLogger((line) => lines.push(line), options) };
}

describe("StreamLogger", () => {
  it("writes text lines at or above its level", () => {
    const { lines, logger } = capture({ level: "info" });
    logger.log("debug", "noise", "not shown");
    logger.log("info", "started", "relay listening", { origin: "https://a.example" });
    logger.log("warn", "peer_unreachable", "peer unreachable", {
      peer: "https://b.example",
      failures: 3,
    });
    expect(lines).toEqual([
      "shroud: relay listening (origin=https://a.example)\n",
      "shroud: warn: peer unreachable (peer=https://b.example failures=3)\n",
    ]);
  });

  it("writes one JSON object per line, with no timestamp and fields unable to replace its level", () => {
    const { lines, logger } = capture({ level: "warn", format: "json" });
    logger.log("info", "started", "relay listening");
    logger.log("error", "store_lost", "store unreachable", { level: "debug", part: "redis" });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "error",
      event: "store_lost",
      msg: "store unreachable",
      part: "redis",
    });
  });
});
