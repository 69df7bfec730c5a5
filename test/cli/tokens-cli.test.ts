/**
 * Privacy Pass from the command line: `shroud serve`'s token settings, and a profile that gets
 * tokens from its provider with `shroud tokens refill` and spends them when its relay asks for
 * one. The relay issues to invite holders and requires a token for every deposit.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/cli-support.js";
import { serveConfig } from "../../src/cli/serve-command.js";
import {
  expectOneErrorLine,
  freePort,
  killAll,
  requireBuild,
  run,
  serve,
  type Served,
} from "./support.js";

const INVITE = "invite-for-the-cli-test-7Jx2kQ";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shroud-tokens-cli-"));
  await writeFile(join(dir, "invites"), `# one per line\n${INVITE}\n\nsecond-invite-secret-xyz\n`);
});

afterAll(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

describe("serve's token settings", () => {
  const config = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = serveConfig(args, env);
    if (c === "help") throw new Error("help");
    return c.tokens;
  };

  it("asks for no token and issues none by default", () => {
    const tokens = config([]);
    expect(tokens.tokens).toEqual({ requirement: "off", freePerMinute: 600, accept: [] });
    expect(tokens.attester).toBeUndefined();
  });

  it("reads flags before variables", () => {
    const invites = join(dir, "invites");
    const tokens = config(
      ["--tokens", "allowance", "--attester", "invite", "--invite-file", invites],
      {
        SHROUD_TOKENS: "always",
        SHROUD_TOKEN_FREE_PER_MINUTE: "10",
        SHROUD_TOKEN_ACCEPT: "https://b.example, https://c.example/",
        SHROUD_TOKENS_PER_DAY: "50",
      },
    );
    expect(tokens.tokens.requirement).toBe("allowance");
    expect(tokens.tokens.freePerMinute).toBe(10);
    expect(tokens.tokens.accept).toEqual(["https://b.example", "https://c.example"]);
    expect(tokens.tokens.issue?.perPeriod).toBe(50);
    expect(tokens.attesterKind).toBe("invite");
    const request = (authorization: string) =>
      new Request("https://a.example/v1/tokens", { headers: { authorization } });
    expect(tokens.attester?.attest(request(`Bearer ${INVITE}`), undefined)).toBe("invite:0");
    expect(tokens.attester?.attest(request("Bearer second-invite-secret-xyz"), undefined)).toBe(
      "invite:1",
    );
    expect(tokens.attester?.attest(request("Bearer # one per line"), undefined)).toBeUndefined();
    const flags = config(["--token-accept", "https://d.example"], {
      SHROUD_TOKEN_ACCEPT: "https://b.example",
    });
    expect(flags.tokens.accept).toEqual(["https://d.example"]);
  });

  it("refuses settings that cannot work, naming the flag or variable", () => {
    const refused: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [["--tokens", "sometimes"], {}, /--tokens must be "off", "always" or "allowance"/],
      [["--tokens", "always"], {}, /--tokens always needs an issuer/],
      [[], { SHROUD_TOKENS: "allowance" }, /SHROUD_TOKENS allowance needs an issuer/],
      [["--attester", "magic"], {}, /--attester must be "invite", "header" or "address"/],
      [["--attester", "invite"], {}, /--attester invite needs --invite-file/],
      [["--attester", "header"], {}, /--attester header needs --attester-header/],
      [["--attester", "header", "--attester-header", "x y"], {}, /must be an HTTP header name/],
      [["--invite-file", "x"], {}, /--invite-file needs --attester invite/],
      [["--tokens-per-day", "5"], {}, /--tokens-per-day needs --attester/],
      [["--attester", "address", "--tokens-per-day", "0"], {}, /--tokens-per-day must be/],
      [["--token-free-per-minute", "x"], {}, /--token-free-per-minute must be an integer/],
      [["--token-accept", "b.example"], {}, /--token-accept must be an http or https origin/],
      [[], { SHROUD_TOKEN_ACCEPT: "ftp://b.example" }, /SHROUD_TOKEN_ACCEPT must list http/],
      [
        ["--store", "memory", "--token-accept", "https://b.example"],
        {},
        /--token-accept needs a store that keeps spent tokens/,
      ],
      [
        ["--attester", "invite", "--invite-file", join(dir, "missing")],
        {},
        /--invite-file: cannot read .*ENOENT/,
      ],
    ];
    for (const [args, env, message] of refused) {
      expect(() => config(args, env), args.join(" ")).toThrow(UsageError);
      expect(() => config(args, env), args.join(" ")).toThrow(message);
    }
  });

  it("refuses an invite file with a short secret", async () => {
    const file = join(dir, "short");
    await writeFile(file, "long-enough-secret-1234\nshort\n");
    expect(() => config(["--attester", "invite", "--invite-file", file])).toThrow(
      /--invite-file: secret 2 must be at least 16 characters/,
    );
  });
});

describe("a profile's tokens", () => {
  let relay: Served;
  const keyFile = () => join(dir, "key");
  const profile = () => join(dir, "profile");
  const as = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) =>
    run([...args, "--profile", profile(), "--key-file", keyFile()], input, env);

  beforeAll(async () => {
    requireBuild();
    relay = await serve([
      ...["--port", String(await freePort()), "--round-ms", "0", "--data", join(dir, "relay")],
      ...["--tokens", "always", "--attester", "invite", "--invite-file", join(dir, "invites")],
      ...["--tokens-per-day", "40"],
    ]);
  }, 60_000);

  it("gets tokens with the invite and spends them where the relay asks", async () => {
    expect(relay.output().stdout).toMatch(/tokens always, issuing tokens \(invite attester\)/);
    const created = await as(["profile", "create", "--name", "alice", "--relay", relay.url]);
    expect(created.code, created.stderr).toBe(0);
    expect((await as(["tokens", "status"])).stdout).toMatch(/no token wallet yet/);

    // Without tokens, the relay refuses the group's first deposit.
    const group = await as(["group", "create", "friends"]);
    expect(group.code, group.stderr).toBe(0);
    const tokenless = await as(["group", "send", "friends", "hello"]);
    expectOneErrorLine(tokenless, 1, /asks for a Privacy Pass token .* waits in the outbox/);

    const uninvited = await as(["tokens", "refill"]);
    expectOneErrorLine(uninvited, 1, /does not vouch for this profile: set SHROUD_INVITE/);

    const refill = await as(["tokens", "refill", "--count", "5"], { SHROUD_INVITE: INVITE });
    expect(refill.code, refill.stderr).toBe(0);
    expect(refill.stdout).toBe(`got 5 tokens from ${relay.url}: 5 in the wallet\n`);
    // The invite was kept: a later refill needs no SHROUD_INVITE.
    const again = await as(["tokens", "refill", "--count", "3"]);
    expect(again.stdout).toBe(`got 3 tokens from ${relay.url}: 8 in the wallet\n`);
    expect((await as(["tokens", "status"])).stdout).toMatch(
      new RegExp(`^issuer ${relay.url}: 8 tokens \\(the first of them honoured until \\d{4}-`),
    );

    // The waiting message goes out before the new one.
    const sent = await as(["group", "send", "friends", "hello again"]);
    expect(sent.code, sent.stderr).toBe(0);
    // Each message spent one; below 8 the wallet refilled itself with 32 more, which the
    // command waited for and kept.
    const left = 8 - 2 + 32;
    expect((await as(["tokens", "status"])).stdout).toMatch(new RegExp(`: ${left} tokens`));

    // Past the invite's allowance (40 a day, all used) the issuer says no; the wallet keeps its own.
    const greedy = await as(["tokens", "refill", "--count", "1"]);
    expectOneErrorLine(greedy, 1, /no tokens from .*HTTP 429/);
    expect((await as(["tokens", "status"])).stdout).toMatch(new RegExp(`: ${left} tokens`));

    // The tokens and the invite are encrypted with the rest of the profile.
    const sealed = await readFile(join(profile(), "tokens.enc"));
    expect(sealed.includes(Buffer.from(INVITE))).toBe(false);
    expect(sealed.includes(Buffer.from("tokens/v1"))).toBe(false);
  }, 120_000);
});
