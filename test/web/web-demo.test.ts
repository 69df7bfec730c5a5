/**
 * `shroud demo --web` in headless Chromium: the built CLI serves the page beside two federated
 * relays; three people, each in a frame of their own with the SDK and MLS bundled for the
 * browser, create a group, invite, chat and remove a member. The browser's own network events
 * show that each page talks only to its own provider's relay, and only in bucket-sized
 * POST /v1/relay requests with bucket-sized answers. The relays' operator recorders show the
 * rest: besides those POSTs, a page's only request to a relay is its CORS preflight (which
 * Playwright's network events leave out), and no page GETs a descriptor from a relay (the page
 * takes them from the demo server); the relays' GETs come from each other.
 *
 * Needs Chromium: CHROMIUM_PATH, default /usr/bin/chromium (Debian's `chromium`; .ci/run
 * installs it). Without one the test fails, it does not skip. SHROUD_SCREENSHOT=PATH (relative
 * to the repository) saves a screenshot of the finished demo: docs/web-demo.png was made with
 * SHROUD_SCREENSHOT=docs/web-demo.png.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type FrameLocator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperatorEvent } from "../../src/demo/operator-recorder.js";
import { DEFAULT_BUCKETS } from "../../src/protocol/padding-policy.js";
import { ManagedChild } from "../../testkit/child-process.js";
import { REPO_ROOT } from "../../testkit/repo-root.js";
import { waitFor } from "../../testkit/wait.js";
import { requireBuild } from "../cli/support.js";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOT = process.env["SHROUD_SCREENSHOT"];
/** Longest wait for one thing to show in a page: a busy 2-core machine is slow, not broken. */
const WAIT_MS = 120_000;

/** One request the browser made, as its network events tell it. */
interface Sent {
  /** Whose frame made it ("overview" for the top page). */
  who: string;
  method: string;
  url: URL;
  body: number;
  answer?: number;
  failed?: string;
}

function findBrowser(): string {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium, as ` +
        ".ci/run does) or set CHROMIUM_PATH to a Chromium binary",
    );
  }
  return CHROMIUM;
}

describe("shroud demo --web in a browser", () => {
  let demo: ManagedChild | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  const lines: string[] = [];
  const sent: Sent[] = [];

  beforeAll(async () => {
    const executablePath = findBrowser();
    requireBuild();
    if (!existsSync(join(REPO_ROOT, "dist", "demo", "web", "assets", "app.js"))) {
      throw new Error("the web demo's page is not built: run `npm run build`");
    }
    demo = new ManagedChild("shroud demo --web", process.execPath, [
      join(REPO_ROOT, "bin", "shroud.js"),
      "demo",
      "--web",
    ]);
    demo.onLine((line) => lines.push(line));
    await demo.waitForLine((line) => (line === "Stop with Ctrl-C." ? true : undefined), WAIT_MS);
    profile = mkdtempSync(join(tmpdir(), "shroud-chromium-"));
    // A fresh profile directory: nothing cached from an earlier run (preflights included).
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1400, height: 1000 },
    });
    browser = context.browser() ?? undefined;
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await demo?.stop("SIGTERM");
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 60_000);

  it("lets three people chat and remove one, over bucket-sized POSTs to their own relays", async () => {
    const printed = (label: string) => {
      const found = lines.map((l) => new RegExp(`^  ${label}(http://\\S+)`).exec(l)).find(Boolean);
      if (!found) throw new Error(`no "${label}" line in ${JSON.stringify(lines)}`);
      return found[1]!.replace(/\/$/, "");
    };
    const overview = printed("open ");
    const relayA = printed("relay A \\(alice's provider\\): ");
    const relayB = printed("relay B \\(bob's and carol's provider\\): ");
    expect(printed("carol's own page: ")).toBe(`${overview}/?as=carol`);

    const ctx = context!;
    const record = new Map<object, Sent>();
    ctx.on("request", (request) => {
      let who = "unknown";
      try {
        who = new URL(request.frame().url()).searchParams.get("as") ?? "overview";
      } catch {
        // A request of no frame (none expected) stays "unknown" and fails the checks below.
      }
      const entry: Sent = {
        who,
        method: request.method(),
        url: new URL(request.url()),
        body: request.postDataBuffer()?.length ?? 0,
      };
      record.set(request, entry);
      sent.push(entry);
    });
    ctx.on("requestfinished", (request) => {
      const entry = record.get(request);
      if (!entry) return;
      void (async () => {
        const response = await request.response();
        const body = response ? await response.body() : undefined;
        entry.answer = body?.length ?? -1;
      })().catch((error: unknown) => {
        entry.failed = `no answer: ${String(error)}`;
      });
    });
    ctx.on("requestfailed", (request) => {
      const entry = record.get(request);
      if (entry) entry.failed = request.failure()?.errorText ?? "failed";
    });

    const page = await ctx.newPage();
    await page.goto(`${overview}/`);
    const person = (name: string): FrameLocator => page.frameLocator(`iframe#${name}`);
    const waitIn = (name: string, selector: string, hasText?: string) =>
      person(name)
        .locator(selector, hasText === undefined ? {} : { hasText })
        .first()
        .waitFor({ timeout: WAIT_MS });
    const message = (from: string) => `li.message[data-sender="${from}"]`;
    const say = async (name: string, text: string) => {
      await person(name).locator("#text").fill(text);
      await person(name).locator("#text").press("Enter");
      await waitIn(name, message(name), text);
    };

    for (const name of ["alice", "bob", "carol"]) await waitIn(name, 'main[data-state="ready"]');

    // Alice creates the group and invites bob, then carol: two commits, two Welcomes.
    await person("alice").locator("#create").click();
    await waitIn("alice", 'main[data-state="in-group"]');
    for (const name of ["bob", "carol"]) {
      await waitIn("alice", `button[data-invite="${name}"]:enabled`);
      await person("alice").locator(`button[data-invite="${name}"]`).click();
      await waitIn("alice", "li.event", `you added ${name}`);
      await waitIn(name, 'main[data-state="in-group"]');
    }
    await waitIn("bob", "li.event", "alice added carol");

    const hello = {
      alice: "Welcome, both of you. The relays carry this but cannot read it.",
      bob: "Hi! My browser talks to relay B only.",
      carol: "Same here, and relay A never sees my address.",
    };
    for (const [speaker, text] of Object.entries(hello)) {
      await say(speaker, text);
      for (const reader of ["alice", "bob", "carol"].filter((n) => n !== speaker)) {
        await waitIn(reader, message(speaker), text);
      }
    }

    // Alice removes carol: carol's page says so; bob applies the commit.
    await waitIn("alice", 'button[data-remove="carol"]:enabled');
    await person("alice").locator('button[data-remove="carol"]').click();
    await waitIn("carol", 'main[data-state="removed"]');
    await waitIn("carol", "#banner", "alice removed you");
    await waitIn("bob", "li.event", "alice removed carol");

    const after = {
      alice: "Carol is gone: this epoch's inbox is new and she cannot derive it.",
      bob: "Nor read anything in it. Only the two of us hold this epoch.",
    };
    await say("alice", after.alice);
    await waitIn("bob", message("alice"), after.alice);
    await say("bob", after.bob);
    await waitIn("alice", message("bob"), after.bob);
    // Both later messages reached the others; carol's page shows neither, and cannot send.
    const carol = person("carol");
    expect(await carol.locator("li.message").allTextContents()).toEqual([
      `alice: ${hello.alice}`,
      `bob: ${hello.bob}`,
      `carol: ${hello.carol}`,
    ]);
    expect(await carol.locator("#text").isDisabled()).toBe(true);
    expect(await person("bob").locator("li.message").allTextContents()).toContain(
      `alice: ${after.alice}`,
    );

    if (SCREENSHOT) {
      // The operators' panel refreshes every second: let it show the end of the run.
      await page.waitForTimeout(1500);
      await page.screenshot({ path: resolve(REPO_ROOT, SCREENSHOT), fullPage: true });
    }

    // What the browser sent: every request to a relay is a bucket-sized POST /v1/relay with a
    // bucket-sized answer, from the page of a person whose provider it is.
    const relays = new Map([
      [relayA, ["alice"]],
      [relayB, ["bob", "carol"]],
    ]);
    // The pages keep reading on their timers: check what was sent until now, once answered.
    const settled = sent.slice();
    const toRelays = settled.filter((s) => relays.has(s.url.origin));
    await waitFor(
      () => toRelays.filter((s) => s.answer === undefined && s.failed === undefined).length,
      (open) => open === 0,
      WAIT_MS,
      "the requests made so far to the relays to be answered",
    );
    expect(toRelays.length).toBeGreaterThan(30);
    const wrong = toRelays.filter(
      (s) =>
        s.method !== "POST" ||
        s.url.pathname !== "/v1/relay" ||
        s.url.search !== "" ||
        !DEFAULT_BUCKETS.includes(s.body) ||
        s.answer !== s.body ||
        s.failed !== undefined ||
        !relays.get(s.url.origin)!.includes(s.who),
    );
    expect(wrong).toEqual([]);
    for (const who of ["alice", "bob", "carol"]) {
      expect(toRelays.filter((s) => s.who === who).length).toBeGreaterThan(5);
    }
    // Everything else went to the demo server (the page, setup, cards, descriptors, operators).
    const elsewhere = settled.filter((s) => !relays.has(s.url.origin) && s.url.origin !== overview);
    expect(elsewhere).toEqual([]);
    expect(settled.filter((s) => s.url.pathname.startsWith("/api/descriptor/")).length).toBe(3);

    // What the relays answered over HTTP, from their operator recorders: bodies in buckets;
    // besides POST /v1/relay (the pages' and each other's proxied requests) only federation
    // batches, the other relay's GETs of its descriptor (a page asking for a peer's descriptor
    // through its own relay) and CORS preflights (no body), which the browser makes before its
    // first POST to each relay and caches. So no page fetched a descriptor from a relay.
    const events = (await (await fetch(`${overview}/api/operators/events`)).json()) as Record<
      "A" | "B",
      OperatorEvent[]
    >;
    for (const [label, peer, peerUrl] of [
      ["A", "B", relayA],
      ["B", "A", relayB],
    ] as const) {
      const httpIn = events[label].flatMap((e) => (e.kind === "http-in" ? [e] : []));
      const posts = httpIn.filter((e) => e.method === "POST" && e.path === "/v1/relay");
      const batches = httpIn.filter((e) => e.method === "POST" && e.path === "/v1/federation");
      const preflights = httpIn.filter((e) => e.method === "OPTIONS");
      const gets = httpIn.filter((e) => e.method === "GET");
      const peerGets = events[peer].filter(
        (e) => e.kind === "http-out" && e.what === "descriptor" && e.peer === peerUrl,
      );
      expect(gets.filter((e) => e.path !== "/.well-known/shroud")).toEqual([]);
      expect(gets.length).toBe(peerGets.length);
      expect(httpIn.length).toBe(posts.length + batches.length + preflights.length + gets.length);
      expect(posts.filter((e) => !DEFAULT_BUCKETS.includes(e.bytes) || e.status !== 200)).toEqual(
        [],
      );
      expect(
        preflights.filter((e) => e.path !== "/v1/relay" || e.bytes !== 0 || e.status !== 204),
      ).toEqual([]);
      // One per page that talks to this relay (a page's first POST is the only one in flight).
      expect(preflights.length).toBeGreaterThan(0);
      expect(preflights.length).toBeLessThanOrEqual(
        relays.get(label === "A" ? relayA : relayB)!.length,
      );
    }

    // Nor do the operators' views (the panel's summary and the events behind it) hold a name,
    // the group's name or a word of what was said.
    const views = JSON.stringify([
      events,
      await (await fetch(`${overview}/api/operators`)).json(),
    ]).toLowerCase();
    const needles = [
      "alice",
      "bob",
      "carol",
      "hiking-club",
      ...Object.values({ ...hello, ...after }),
    ];
    expect(needles.filter((n) => views.includes(n.toLowerCase()))).toEqual([]);

    expect(await demo!.stop("SIGTERM")).toBe(0);
    expect(lines.at(-1)).toBe("web demo stopped");
  }, 300_000);
});
