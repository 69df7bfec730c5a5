/**
 * How `shroud group` turns group events into terminal lines: one line per event, and nothing a
 * member sends can move the cursor, recolour the terminal or reorder the line.
 */
import { describe, expect, it } from "vitest";
import { describeEvent, safeName, safeText } from "../../src/cli/group-command.js";

describe("group event lines", () => {
  it("formats messages, commits and removal", () => {
    const message = { kind: "message", epoch: 1n, sender: "bob", data: new Uint8Array() } as const;
    expect(describeEvent("friends", { ...message, text: "hi" })).toBe("[friends] bob: hi");
    const commit = { kind: "commit", epoch: 3n, committer: "alice" } as const;
    expect(describeEvent("friends", { ...commit, added: ["carol"], removed: [] })).toBe(
      "[friends] alice added carol (epoch 3)",
    );
    expect(describeEvent("friends", { ...commit, added: ["c", "d"], removed: ["e"] })).toBe(
      "[friends] alice added c, d and removed e (epoch 3)",
    );
    expect(describeEvent("friends", { ...commit, added: [], removed: [] })).toBe(
      "[friends] alice updated the group's keys (epoch 3)",
    );
    expect(describeEvent("friends", { kind: "removed", epoch: 4n, committer: "alice" })).toBe(
      "[friends] you were removed by alice",
    );
    expect(describeEvent("friends", { kind: "unreadable", reason: "x" })).toBeUndefined();
  });

  it("escapes control and bidi characters; indents continuation lines", () => {
    expect(safeText("red \u001b[31malert\u0007")).toBe("red \\x1b[31malert\\x07");
    expect(safeText("abc\u202edef")).toBe("abc\\u202edef");
    expect(safeText("one\r\ntwo\nthree\n")).toBe("one\n  two\n  three");
    expect(safeName("mal\nlory\u009b")).toBe("mal lory\\x9b");
    expect(safeText("héllo, 世界 👋")).toBe("héllo, 世界 👋");
  });
});
