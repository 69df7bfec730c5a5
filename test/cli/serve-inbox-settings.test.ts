/** The per-inbox quota and retention as operator settings: flags, variables, and their effect. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { serveConfig } from "../../src/cli/serve-command.js";
import { UsageError } from "../../src/cli/cli-support.js";
import { freePort, killAll, requireBuild, run, serve } from "./support.js";

let dir: string | undefined;

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("inbox settings of serve", () => {
  it("reads flags before variables, and leaves out what is not given", () => {
    const config = serveConfig(["--inbox-max-items", "5", "--retention-days", "2"], {
      SHROUD_INBOX_MAX_ITEMS: "9",
      SHROUD_INBOX_MAX_BYTES: "2048",
    });
    if (config === "help") throw new Error("help");
    expect(config.inboxes).toEqual({ quota: { maxItems: 5, maxBytes: 2048 }, retentionDays: 2 });
    const plain = serveConfig([], {});
    expect(plain !== "help" && plain.inboxes).toEqual({});
    expect(() => serveConfig(["--retention-days", "0"], {})).toThrow(UsageError);
    expect(() => serveConfig([], { SHROUD_INBOX_MAX_BYTES: "12" })).toThrow(
      /SHROUD_INBOX_MAX_BYTES must be an integer from 1024/,
    );
  });

  it("answers quota past --inbox-max-items", { timeout: 60_000 }, async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "shroud-inbox-settings-"));
    const relay = await serve([
      ...["--port", String(await freePort()), "--round-ms", "0", "--data", join(dir, "data")],
      ...["--inbox-max-items", "2"],
    ]);
    const card = join(dir, "card.json");
    const inbox = join(dir, "inbox.json");
    expect(
      (await run(["inbox", "create", "--relay", relay.url, "--out", inbox, "--card", card])).code,
    ).toBe(0);
    expect((await run(["send", "--card", card], "one")).stdout).toBe("accepted\n");
    expect((await run(["send", "--card", card], "two")).stdout).toBe("accepted\n");
    const third = await run(["send", "--card", card], "three");
    expect([third.code, third.stderr]).toEqual([1, "shroud: deposit failed: quota\n"]);
  });
});
