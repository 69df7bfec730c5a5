/**
 * Large groups end to end through two federated relays, each client talking only to its own
 * provider: the group's inboxes and its creator on relay A, every other member's personal inbox
 * on relay B; the creator reaches B through A (deposits forwarded over the A-B link), members
 * reach A through B (proxied reads). Measured: the creator's change() adding everyone at once
 * until every invitation is deposited, then the last member (whose invitation crosses the link
 * last) joining and reading the creator's first message (mls.create.N); one more member added
 * end to end until it reads its first message (mls.add1.N); one message sent and read
 * (mls.msg.N: send() and the read that returned it, the round's wait excluded, with the reader
 * reaching A directly: through B every read waits for B's round, which is B's privacy, not the
 * group's size; that wall time is reported beside it).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import type { Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import type { Cleanup } from "../common/cleanup.js";
import type { Figure } from "../common/figure.js";
import { formatNumber, textTable } from "../common/text-table.js";
import { newMembers } from "./mls-group.js";
import { messageCost, stateCopy, type MessageCost } from "./mls-raw.js";
import { startMlsRelayPair } from "./mls-relay-pair.js";

/** Batches of 16 envelopes per round on the A-B link: sized for invitations to 1,000 at once. */
export const LARGE_LINK_BATCHES = 8;
const POLL_MS = 20;
const MESSAGES = 15;
/** Longest wait for one joiner's invitation or one message (the run fails beyond it). */
const WAIT_MS = 120_000;

export interface LargeGroupResult {
  size: number;
  roundMs: number;
  /** Wall time of change({ add: size - 1 }) until every invitation was deposited, s. */
  changeS: number;
  /** From change() until the last member joined and read the first message, s. */
  createS: number;
  /** From change({ add: 1 }) until the new member read its first message, s. */
  add1S: number;
  /** send() plus the read that returned it, the reader direct to A, per message, ms. */
  msgMs: number[];
  /** From send() until the message was read, the reader through B (its rounds included), ms. */
  msgViaBMs: number[];
  /** ts-mls alone on copies of the two states: createApplicationMessage and processing, ms. */
  raw: MessageCost;
}

/** Joins `member` from its personal inbox, reading again until its invitation has arrived. */
async function joinWhenInvited(
  member: Member,
  home: RelayClient,
  deps: GroupDeps,
): Promise<GroupSession> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const { joined, problems } = await acceptInvitations(member, home, deps);
    if (problems.length > 0) throw new Error(`bench: ${member.name}: ${problems.join("; ")}`);
    if (joined[0]) return joined[0];
    await sleep(POLL_MS);
  }
  throw new Error(`bench: ${member.name} got no invitation in ${WAIT_MS} ms`);
}

/** Reads until a message arrives; the duration of the read that returned it, ms. */
async function readMessage(session: GroupSession): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const started = performance.now();
    const events = await session.sync();
    if (events.some((event) => event.kind === "message")) return performance.now() - started;
    await sleep(POLL_MS);
  }
  throw new Error(`bench: no message within ${WAIT_MS} ms`);
}

/**
 * @example const result = await measureLargeGroup(1000, 200, cleanup);
 */
export async function measureLargeGroup(
  size: number,
  roundMs: number,
  cleanup: Cleanup,
): Promise<LargeGroupResult> {
  const pair = await startMlsRelayPair(roundMs, cleanup, LARGE_LINK_BATCHES);
  const homeA = await RelayClient.connect(pair.a.url, { shaping: ShapingProfiles.off });
  const homeB = await RelayClient.connect(pair.b.url, { shaping: ShapingProfiles.off });
  const bViaA = await RelayClient.connectVia(pair.b.url, homeA);
  const aViaB = await RelayClient.connectVia(pair.a.url, homeB);
  const memberRoute = { toA: aViaB };
  const creatorDeps: GroupDeps = {
    route: async (origin) => (origin === homeB.origin ? bViaA : homeA),
    pollMs: POLL_MS,
  };
  const memberDeps: GroupDeps = {
    route: async (origin) => (origin === homeA.origin ? memberRoute.toA : homeB),
    pollMs: POLL_MS,
  };
  const members = await newMembers(size, `L${size}`, homeB);
  const creator = await GroupSession.create(
    `large-${size}`,
    { name: `L${size}-0` },
    homeA,
    creatorDeps,
  );

  const created = performance.now();
  const outcome = await creator.change({ add: members.slice(0, size - 1).map((m) => m.card()) });
  if (outcome.status !== "committed") throw new Error(`bench: add commit ${outcome.status}`);
  const changeS = (performance.now() - created) / 1000;
  const refused = (await creator.take()).filter((event) => event.kind === "unreadable");
  if (refused.length > 0) {
    throw new Error(`bench: ${refused.length} problems in change(): ${JSON.stringify(refused[0])}`);
  }
  const last = await joinWhenInvited(members[size - 2]!, homeB, memberDeps);
  await creator.send("the first message");
  await readMessage(last);
  const createS = (performance.now() - created) / 1000;

  const added = performance.now();
  const newcomer = members[size - 1]!;
  const more = await creator.change({ add: [newcomer.card()] });
  if (more.status !== "committed") throw new Error(`bench: add-1 commit ${more.status}`);
  const joined = await joinWhenInvited(newcomer, homeB, memberDeps);
  await creator.send("welcome");
  await readMessage(joined);
  const add1S = (performance.now() - added) / 1000;
  // The earlier joiner applies the add-1 commit before it times messages.
  await last.sync();

  const msgViaBMs: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const sent = performance.now();
    await creator.send(`through B ${i}`);
    await readMessage(last);
    msgViaBMs.push(performance.now() - sent);
  }
  memberRoute.toA = homeA;
  const msgMs: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const sent = performance.now();
    await creator.send(`direct ${i}`);
    const sendMs = performance.now() - sent;
    msgMs.push(sendMs + (await readMessage(last)));
  }
  const raw = await messageCost(stateCopy(creator), stateCopy(last), MESSAGES, 100);
  return { size, roundMs, changeS, createS, add1S, msgMs, msgViaBMs, raw };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Prints the large group's run and returns its named figures (mls.create.N, ...). */
export function reportLargeGroup(result: LargeGroupResult): Figure[] {
  const { size } = result;
  const ms = (value: number) => `${formatNumber(value, 1)} ms`;
  const s = (value: number) => `${formatNumber(value, 2)} s`;
  console.log(
    `Large group: ${size} members through relays A and B (creator and group inboxes on A,` +
      ` every other member's personal inbox on B, each client talking only to its own relay;` +
      ` rounds ${result.roundMs} ms, ${LARGE_LINK_BATCHES} batches of 16 a round on the link)`,
  );
  console.log(
    textTable(
      ["figure", "value", "what"],
      [
        [
          `mls.create.${size}`,
          s(result.createS),
          `change({ add: ${size - 1} }) (${s(result.changeS)} until every invitation was` +
            " deposited), then the last member joins and reads the first message",
        ],
        [
          `mls.add1.${size}`,
          s(result.add1S),
          "change({ add: 1 }) until the new member has read its first message",
        ],
        [
          `mls.msg.${size}`,
          ms(median(result.msgMs)),
          `median of ${result.msgMs.length}: send() and the read (direct to A) that returned` +
            ` it, the round's wait excluded; through B, send to read: ${ms(median(result.msgViaBMs))};` +
            ` ts-mls alone: encrypt ${ms(median(result.raw.encryptMs))},` +
            ` decrypt ${ms(median(result.raw.decryptMs))}`,
        ],
      ],
      ["left", "right", "left"],
    ),
  );
  return [
    { name: `mls.create.${size}`, value: result.createS, unit: "s" },
    { name: `mls.add1.${size}`, value: result.add1S, unit: "s" },
    { name: `mls.msg.${size}`, value: median(result.msgMs), unit: "ms" },
  ];
}
