/** Printing for the MLS part of `npm run bench`. */
import { MLS_CIPHERSUITE } from "../../src/client/mls/mls-suite.js";
import type { FlowResult } from "./mls-flow.js";
import type { RelayDelta } from "./mls-relay-pair.js";
import type { RelayWindowResult, SizeResult } from "./mls-scaling.js";
import { percentile } from "../common/percentile.js";
import { formatNumber, textTable } from "../common/text-table.js";

export interface MlsSetup {
  roundMs: number;
  groupSize: number;
  senders: number;
  receivers: number;
  pollMs: number;
  paceMs: number;
  seconds: number;
  messageBytes: number;
  relayPids: { a: number | undefined; b: number | undefined; c: number | undefined };
  /** 1-minute load average when the part started. */
  loadAverage: string;
  cores: number;
}

export function printMlsHeader(setup: MlsSetup): void {
  const idle = setup.groupSize - setup.senders - setup.receivers;
  const { a, b, c } = setup.relayPids;
  console.log("MLS groups");
  console.log(
    `  relays   A (pid ${a ?? "?"}), B (pid ${b ?? "?"}) and C (pid ${c ?? "?"}): one child` +
      " process each (dist/bench-run/bench/mls/mls-relay-child.js), startNodeRelay on the embedded memory" +
      ` store (memoryPorts, keys in memory), roundIntervalMs ${setup.roundMs}; A and B federated` +
      " with each other (allowlist, federation defaults), C without federation (for the" +
      " per-message figures); figures from their own metrics, inbox writes and" +
      " process.cpuUsage, read over IPC",
  );
  console.log(
    `  machine  1-minute load average ${setup.loadAverage} on ${setup.cores} cores at the start` +
      " (other processes on the machine stretch wall-clock figures; CPU times are each" +
      " process's own)",
  );
  console.log(`  suite    ${MLS_CIPHERSUITE} (ts-mls), group payloads AES-256-GCM`);
  console.log(
    `  group    ${setup.groupSize} members: the creator added the others in one commit and all` +
      " joined from their personal inboxes; epoch inboxes and personal inboxes on A",
  );
  console.log(
    "  routes   direct: every request is POSTed to A; via B: RelayClient.connectVia(A, B), so" +
      " application messages are forwarded by B in its next federation batch and fetches are" +
      " proxied by B to A",
  );
  console.log(
    `  load     ${setup.senders} members send ${setup.messageBytes} B messages for` +
      ` ${setup.seconds} s, paced (one send every ${setup.paceMs} ms, senders in turn) or` +
      ` flat out (each sender back to back); ${setup.receivers} other members are the measured` +
      ` receivers (sync(), ${setup.pollMs} ms pause, repeat); ${idle} members stay idle`,
  );
  console.log(
    "  counted  a message counts once every measured receiver got it; msgs/s = those messages" +
      " / time from the first send() call to the last receiver getting the last of them;" +
      " latency = receiver's sync() returning it - the send() call, per message and receiver",
  );
  console.log("");
}

function ms(value: number, decimals = 1): string {
  return formatNumber(value, decimals);
}

function perMessage(total: number, messages: number, decimals = 1): string {
  return messages > 0 ? formatNumber(total / messages, decimals) : "-";
}

export interface FlowRow {
  route: string;
  load: string;
  result: FlowResult;
}

export function printFlows(
  rows: readonly FlowRow[],
  setup: MlsSetup,
  idle: { a: number; b: number },
): void {
  console.log(
    textTable(
      [
        "route",
        "load",
        "sent",
        "got by all",
        "s",
        "msgs/s",
        "e2e p50 ms",
        "e2e p99 ms",
        "send p50 ms",
        "A req/msg",
        "A CPU ms/msg",
        "B CPU ms/msg",
        "clients CPU ms/msg",
      ],
      rows.map(({ route, load, result: r }) => [
        route,
        load,
        formatNumber(r.sent),
        formatNumber(r.deliveredToAll),
        formatNumber(r.windowMs / 1000, 2),
        formatNumber(r.perSecond, 1),
        ms(percentile(r.latencyMs, 0.5)),
        ms(percentile(r.latencyMs, 0.99)),
        ms(percentile(r.sendMs, 0.5)),
        perMessage(r.relays.a.totalRequests, r.deliveredToAll),
        perMessage(r.relays.a.cpuMs, r.deliveredToAll, 2),
        perMessage(r.relays.b.cpuMs, r.deliveredToAll, 2),
        perMessage(r.clientCpuMs, r.deliveredToAll, 2),
      ]),
      [
        "left",
        "left",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
      ],
    ),
  );
  console.log("");
  console.log(
    `Idle relays (no traffic, measured before the flows): A ${formatNumber(idle.a, 1)}, B` +
      ` ${formatNumber(idle.b, 1)} ms CPU per s (rounds, maintenance, one batch each way per` +
      " round, cover when there is nothing to carry); they are not subtracted above.",
  );
  console.log(
    `Per message above: relay requests and CPU include the ${setup.receivers} receivers'` +
      ` polling (a sync every ${setup.pollMs} ms whether or not anything arrived), rounds and` +
      " cover batches, so they fall as the rate rises; clients CPU is the bench process (all" +
      " senders and receivers: MLS, AES-GCM, HPKE request sealing, HTTP).",
  );
  for (const { route, load, result: r } of rows) {
    const requests = (d: RelayDelta) =>
      Object.entries(d.requests)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join(", ") || "none";
    console.log(
      `  ${route}, ${load}: ${formatNumber(r.syncs)} receiver syncs, ` +
        `${formatNumber(r.unreadable)} unreadable, ${formatNumber(r.sendErrors)} send errors` +
        `${r.firstError ? ` (first: ${r.firstError})` : ""}; sent/s over the send window ` +
        `${formatNumber(r.sent / (r.sendWindowMs / 1000), 1)}; A: ${requests(r.relays.a)}; ` +
        `A stored ${formatNumber(r.relays.a.storedItems)} items; B: ${requests(r.relays.b)}` +
        machineNote(r),
    );
  }
  console.log("");
}

function machineNote(r: FlowResult): string {
  if (!r.machine) return "";
  const ours = (r.clientCpuMs + r.relays.a.cpuMs + r.relays.b.cpuMs) / 1000 / r.machine.seconds;
  return (
    `; machine busy ${formatNumber(r.machine.busyCores, 2)} cores on average, this bench's` +
    ` processes ${formatNumber(ours, 2)}`
  );
}

/** Relay CPU in the window minus what the relay burns idle over the same time, ms. */
function netCpuMs(window: RelayWindowResult, idleMsPerSecond: number): number {
  return window.relay.cpuMs - (idleMsPerSecond * window.windowMs) / 1000;
}

export function printScaling(
  rows: readonly SizeResult[],
  idleC: number,
  messageBytes: number,
  machine: { busyCores: number; ownCores: number; loadAverage: string } | undefined,
): void {
  console.log(
    `Per group message against group size (relay C, direct; the creator sends ` +
      `${rows[0]?.messages ?? 0} messages of ${messageBytes} B one after another, then one ` +
      "member fetches and opens them all in one sync())",
  );
  console.log(
    textTable(
      [
        "members",
        "C req/msg",
        "stored items/msg",
        "stored bytes/msg",
        "C CPU us/msg",
        "sync: C req",
        "sync: C CPU us/msg",
      ],
      rows.map((r) => [
        String(r.size),
        perMessage(r.send.relay.relay.totalRequests, r.messages, 2),
        perMessage(r.send.relay.relay.storedItems, r.messages, 2),
        perMessage(r.send.relay.relay.storedBytes, r.messages, 0),
        perMessage(1000 * netCpuMs(r.send.relay, idleC), r.messages, 0),
        r.receive ? formatNumber(r.receive.relay.relay.totalRequests) : "-",
        r.receive
          ? perMessage(1000 * netCpuMs(r.receive.relay, idleC), r.receive.received, 0)
          : "-",
      ]),
      ["right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  console.log(
    textTable(
      [
        "members",
        "MLS encrypt p50 ms",
        "MLS decrypt p50 ms",
        "PrivateMessage bytes",
        "send() p50 ms",
        "sender CPU ms/msg",
        "sync() ms/msg",
        "receiver CPU ms/msg",
      ],
      rows.map((r) => [
        String(r.size),
        ms(percentile(r.raw.encryptMs, 0.5), 2),
        r.raw.decryptMs.length > 0 ? ms(percentile(r.raw.decryptMs, 0.5), 2) : "-",
        formatNumber(r.raw.messageBytes),
        ms(percentile(r.send.ms, 0.5), 2),
        perMessage(r.send.clientCpuMs, r.messages, 2),
        r.receive ? perMessage(r.receive.syncMs, r.receive.received, 2) : "-",
        r.receive ? perMessage(r.receive.clientCpuMs, r.receive.received, 2) : "-",
      ]),
      ["right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  const adds = rows.filter((r) => r.add);
  console.log(
    textTable(
      [
        "members",
        "ts-mls add commit ms",
        "commit bytes",
        "Welcome bytes",
        "change() ms",
        "C stored items",
        "C stored KiB",
        "C CPU ms",
        "join ms",
      ],
      adds.map((r) => {
        const add = r.add!;
        return [
          String(r.size),
          ms(add.raw.ms),
          formatNumber(add.raw.commitBytes),
          formatNumber(add.raw.welcomeBytes),
          ms(add.changeMs),
          formatNumber(add.relay.relay.storedItems),
          formatNumber(add.relay.relay.storedBytes / 1024),
          ms(netCpuMs(add.relay, idleC)),
          ms(add.joinMs),
        ];
      }),
      ["right", "right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  const rawCount = rows[0]?.raw.encryptMs.length ?? 0;
  console.log(
    "What the columns are: C req/msg, stored items and bytes/msg = requests relay C handled and" +
      " items (bytes as stored, padded) its rounds wrote to inboxes while the messages were sent," +
      " divided by the messages; C CPU = relay C's process CPU over that window minus its idle" +
      ` rate (${formatNumber(idleC, 1)} ms CPU per s, measured with no traffic);` +
      " sync: C req = requests of the receiver's one sync() (fetch pages); MLS encrypt/decrypt =" +
      ` ts-mls createApplicationMessage / processPrivateMessage alone, median of ${rawCount},` +
      " on copies of the two members' states; send() and sync() = GroupSession calls (MLS," +
      " AES-GCM payload seal, HPKE request seal, HTTP to C, response open), CPU = the bench" +
      " process; ts-mls add commit = createCommit adding everyone else (ratchet tree extension" +
      " on) alone; change() = Shroud's whole add: fetch, commit, the Welcome stored once and the" +
      " commit deposited, then one invitation naming the Welcome HPKE-sealed and deposited per" +
      " joiner; C stored = what C's rounds wrote for it; join = one joiner's acceptInvitations" +
      " (fetch, open, the Welcome's fetch, joinGroup).",
  );
  if (machine) {
    console.log(
      `Machine during this table: ${formatNumber(machine.busyCores, 2)} cores busy on average,` +
        ` ${formatNumber(machine.ownCores, 2)} of them this bench's processes; load average` +
        ` ${machine.loadAverage} at the end.`,
    );
  }
}
