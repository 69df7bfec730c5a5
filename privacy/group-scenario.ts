/**
 * Scenario (c): several small MLS groups on one relay, each member a client on its own address
 * driving the real GroupSession: it syncs every `pollMs` like an app without scheduling of its own
 * and posts at exponential gaps. The groups are built first (the creator adds everyone in one
 * commit, the others join from their personal inboxes); the observers' records start after that,
 * with a stretch of polling only before the first post.
 */
import { setMaxListeners } from "node:events";
import { acceptInvitations } from "../src/client/mls/accept-invitations.js";
import { GroupSession, type GroupDeps } from "../src/client/mls/group-session.js";
import { Member } from "../src/client/mls/member.js";
import { RelayClient } from "../src/client/relay-client.js";
import type { ShapingProfile } from "../src/client/shaping-profile.js";
import { boundFetch, type BoundFetch } from "./bound-fetch.js";
import { exponential, shuffled, uniform } from "./csprng.js";
import { clientAddress } from "./pair-scenario.js";
import { emptyRecords, type RunRecords, type SentMessage } from "./records.js";
import { startSimRelays, stopSimRelays } from "./sim-relays.js";
import { sleep, type SimTiming } from "./sim-timing.js";

export interface GroupSetup {
  /** Members per group. */
  sizes: number[];
  /** Posts each group gets before the run ends. */
  posts: number;
  /** Mean gap between one member's posts (nominal ms, scaled by the timing). */
  postGapMs: number;
  maxBusyMs: number;
}

export interface GroupCast {
  /** Member addresses per group name. */
  groups: Record<string, string[]>;
  relays: Record<string, string>;
}

export interface GroupRun {
  cast: GroupCast;
  records: RunRecords;
}

interface SimMember {
  address: string;
  group: string;
  client: RelayClient;
  link: BoundFetch;
  session?: GroupSession;
}

/**
 * @example
 * const run = await runGroupScenario(ShapingProfiles.off, simTiming(0.25), { sizes: [3, 4], ... });
 */
export async function runGroupScenario(
  profile: ShapingProfile,
  timing: SimTiming,
  setup: GroupSetup,
  progress: (line: string) => void = () => undefined,
): Promise<GroupRun> {
  const records = emptyRecords();
  const [relay] = await startSimRelays(["R"], timing.roundMs, records);
  const url = relay!.url;
  const total = setup.sizes.reduce((a, b) => a + b, 0);
  const addresses = shuffled(Array.from({ length: total }, (_, i) => clientAddress(i)));
  const members: SimMember[] = [];
  const groups: Record<string, string[]> = {};
  let running = true;
  const stopped = new AbortController();
  // Every member's loops wait on it.
  setMaxListeners(0, stopped.signal);
  const tasks: Promise<void>[] = [];
  try {
    let next = 0;
    // Built one group at a time, all groups' members connected first.
    for (const [g, size] of setup.sizes.entries()) {
      const name = `group-${g + 1}`;
      groups[name] = addresses.slice(next, next + size);
      for (const address of groups[name]!) {
        const link = boundFetch(address, records.clientLinks);
        const client = await RelayClient.connect(url, { fetch: link.fetch, shaping: profile });
        members.push({ address, group: name, client, link });
      }
      next += size;
    }
    const depsOf = (m: SimMember): GroupDeps => ({
      route: async () => m.client,
      pollMs: Math.max(20, timing.roundMs / 4),
    });
    for (const [name, addressesOf] of Object.entries(groups)) {
      const inGroup = addressesOf.map((a) => members.find((m) => m.address === a)!);
      const identities = await Promise.all(
        inGroup.map((m, i) =>
          Member.create(`m${i}-${name}`, url, m.client.descriptor.signingKey, 1),
        ),
      );
      const creator = inGroup[0]!;
      creator.session = await GroupSession.create(
        name,
        identities[0]!,
        creator.client,
        depsOf(creator),
      );
      const outcome = await creator.session.change({
        add: identities.slice(1).map((i) => i.card()),
      });
      if (outcome.status !== "committed") throw new Error(`${name} not built (${outcome.status})`);
      for (const [i, member] of inGroup.entries()) {
        if (i === 0) continue;
        for (let attempt = 0; !member.session; attempt++) {
          if (attempt > 200) throw new Error(`a member of ${name} never found its invitation`);
          await sleep(timing.roundMs);
          const { joined } = await acceptInvitations(identities[i]!, member.client, depsOf(member));
          member.session = joined[0];
        }
      }
      progress(`  groups: ${name} built (${inGroup.length} members)`);
    }

    let sending = false;
    const postsIn = new Map<string, number>();
    const sync = async (m: SimMember) => {
      await sleep(uniform() * timing.pollMs, stopped.signal);
      while (running) {
        try {
          const events = await m.session!.sync();
          const now = performance.now();
          for (const event of events) {
            if (event.kind !== "message") continue;
            const id = Number(JSON.parse(event.text).id);
            const message = records.messages[id];
            if (message) message.receivedAt[m.address] ??= now;
          }
        } catch {
          if (running) records.errors++;
        }
        await sleep(timing.pollMs, stopped.signal);
      }
    };
    const post = async (m: SimMember) => {
      while (running) {
        await sleep(exponential(setup.postGapMs * timing.scale), stopped.signal);
        if (!running || !sending) continue;
        const id = records.messages.length;
        const message: SentMessage = {
          id,
          from: m.address,
          to: m.group,
          sentAt: performance.now(),
          receivedAt: {},
        };
        records.messages.push(message);
        try {
          await m.session!.send(
            JSON.stringify({ id, text: "x".repeat(20 + Math.floor(uniform() * 200)) }),
          );
          message.depositedAt = performance.now();
          postsIn.set(m.group, (postsIn.get(m.group) ?? 0) + 1);
        } catch {
          if (running) records.errors++;
        }
      }
    };

    records.idle.start = performance.now();
    for (const m of members) tasks.push(sync(m), post(m));
    await sleep(timing.idleMs);
    records.idle.end = records.busy.start = performance.now();
    sending = true;
    const deadline = performance.now() + setup.maxBusyMs;
    let lastReport = performance.now();
    for (;;) {
      const least = Math.min(...Object.keys(groups).map((g) => postsIn.get(g) ?? 0));
      if (least >= setup.posts || performance.now() > deadline) break;
      if (performance.now() - lastReport > 15_000) {
        progress(`  groups: the quietest group has had ${least} of ${setup.posts} posts`);
        lastReport = performance.now();
      }
      await sleep(200);
    }
    sending = false;
    await sleep(timing.tailMs);
    records.busy.end = performance.now();
    return { cast: { groups, relays: { R: url } }, records };
  } finally {
    running = false;
    stopped.abort();
    await Promise.race([Promise.allSettled(tasks), sleep(timing.tailMs)]);
    for (const m of members) m.client.close();
    await Promise.allSettled(tasks);
    for (const m of members) m.link.close();
    await stopSimRelays([relay!]);
  }
}
