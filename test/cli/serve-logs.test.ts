/**
 * What `shroud serve` logs when something goes wrong between providers, read as an operator's
 * log collector would (`--log-format json`): B goes down and comes back while A forwards to it.
 * A says so (a warning naming B, then B back), in JSON lines whose only values are levels,
 * event names, messages, counts and B's configured origin; no line, and no /metrics series,
 * holds an inbox secret, a card, a message or a size.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../testkit/wait.js";
import { freePort, killAll, requireBuild, run, serve, type Served } from "./support.js";

const TOKEN = "a-metrics-token-long-enough";
const MESSAGE = "a message nobody may log";
let dir: string;
let a: Served;
let b: Served;
let portB: number;
let urlA: string;
let urlB: string;

const serveB = () =>
  serve([
    ...["--port", String(portB), "--round-ms", "200", "--data", join(dir, "b")],
    ...["--peer", urlA],
  ]);

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-serve-logs-"));
  const portA = await freePort();
  portB = await freePort();
  urlA = `http://127.0.0.1:${portA}`;
  urlB = `http://127.0.0.1:${portB}`;
  a = await serve(
    [
      ...["--port", String(portA), "--round-ms", "200", "--data", join(dir, "a")],
      ...["--peer", urlB, "--log-format", "json", "--log-level", "debug", "--metrics"],
    ],
    { SHROUD_METRICS_TOKEN: TOKEN },
  );
  b = await serveB();
}, 60_000);

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("serve's log", () => {
  it(
    "warns of a peer down and back, in JSON lines that say nothing of clients",
    { timeout: 180_000 },
    async () => {
      const inbox = join(dir, "inbox.json");
      const card = join(dir, "card.json");
      expect(
        (await run(["inbox", "create", "--relay", urlB, "--out", inbox, "--card", card])).code,
      ).toBe(0);
      expect((await run(["send", "--card", card, "--via", urlA], `${MESSAGE} 1\n`)).code).toBe(0);

      b.child.kill("SIGTERM");
      await b.exited;
      expect((await run(["send", "--card", card, "--via", urlA], `${MESSAGE} 2\n`)).code).toBe(0);
      const events = () =>
        a
          .output()
          .stderr.split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      await waitFor(
        () => events().map((e) => e["event"]),
        (seen) => seen.includes("peer_unreachable"),
        60_000,
        "A's warning that B is down",
      );
      b = await serveB();
      await waitFor(
        () => events().map((e) => e["event"]),
        (seen) => seen.includes("peer_reachable"),
        90_000,
        "A's note that B is back",
      );
      await expect
        .poll(async () => (await run(["fetch", "--inbox", inbox, "--via", urlA])).stdout, {
          timeout: 30_000,
          interval: 250,
        })
        .toBe(`${MESSAGE} 1\n${MESSAGE} 2\n`);

      const secrets = [
        MESSAGE,
        ...Object.values(JSON.parse(await readFile(inbox, "utf8")) as object),
        ...Object.values(JSON.parse(await readFile(card, "utf8")) as object),
      ].filter(
        // The relay's origin is in the card too; it is no secret, and the peer field names it.
        (value): value is string =>
          typeof value === "string" && value.length >= 16 && !value.startsWith("http"),
      );
      expect(secrets.length).toBeGreaterThan(4);
      const metrics = await (
        await fetch(`${urlA}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      for (const event of events()) {
        expect(
          Object.keys(event).every((k) =>
            ["level", "event", "msg", "peer", "more", "count", "since", "error"].includes(k),
          ),
          JSON.stringify(event),
        ).toBe(true);
        expect(["debug", "info", "warn", "error"]).toContain(event["level"]);
        if ("peer" in event) expect(event["peer"]).toBe(urlB);
      }
      for (const text of [a.output().stderr, metrics]) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
      expect(events().find((e) => e["event"] === "peer_unreachable")).toMatchObject({
        level: "warn",
        peer: urlB,
      });
    },
  );
});
