/**
 * How a client shapes its traffic so that when and how much it sends says nothing about what its
 * user does (see traffic-shaper.ts). A profile fixes the schedule of request slots and the one
 * bucket (cell) every request fills; every slot carries a real request if one waits, else cover.
 */

/** Slot schedules: none (requests leave when made), a fixed gap, or exponential gaps. */
export type ShapingProfile =
  | { kind: "off" }
  | {
      kind: "constant";
      /** Milliseconds between two slots. */
      intervalMs: number;
      /** The bucket every request and answer fills (bytes; one of the relay's buckets). */
      cellSize: number;
      /**
       * Share of write slots given to contacts' lanes (RelayClient.coverContact) when there are
       * any; default DEFAULT_DROP_SHARE.
       */
      dropShare?: number;
      /**
       * Drops a lane that `RelayClient.deposit` opened sends after the conversation's last
       * message before it ends; 0: deposits open no lanes, only the contacts the app names
       * (`coverContact`) get one. Default AUTO_LANE_DROPS.
       */
      autoLaneDrops?: number;
    }
  | {
      kind: "poisson";
      /** Mean milliseconds between two slots (gaps drawn from an exponential distribution). */
      meanIntervalMs: number;
      cellSize: number;
      dropShare?: number;
      autoLaneDrops?: number;
    };

/**
 * Half the write slots go to contacts' lanes (drop cover when nothing waits for them), half to
 * the client's own loop: each contact's inbox then receives a deposit every 2 × contacts write
 * slots on average (one a second with one contact, in the named profiles). Messages to a
 * contact must come slower than that, or they queue. Through an ingress a read slot fetches one
 * item: a shaping reader's fetch reads on while items wait (RelayClient.fetch), and it keeps up
 * only if it acknowledges on its own schedule (every few reads), not after every read.
 */
export const DEFAULT_DROP_SHARE = 0.5;

/**
 * Drops a lane that `deposit` opened sends after its last message before it ends (about 8.5
 * minutes with one lane in the named profiles, longer with more). A lane's drops are stored in
 * the contact's inbox until its reader fetches them, so this bounds what a contact who is away
 * receives from one conversation: at most this many items, never a whole quota.
 */
export const AUTO_LANE_DROPS = 256;

/**
 * Named profiles. Each slot is one request and its answer of `cellSize` bytes each; slots
 * alternate between a write (a deposit, or a loop deposit into the client's own sink inbox)
 * and a read (a fetch or ack, or a fetch of the sink inbox).
 */
export const ShapingProfiles = {
  /** No shaping: every request leaves when the app makes it, in the bucket it needs. */
  off: { kind: "off" },
  /** One request every 500 ms in 4 KiB cells: about 57.6 MB up and down per hour. */
  constant: { kind: "constant", intervalMs: 500, cellSize: 4096 },
  /** Loopix-like: exponential gaps with a 500 ms mean, 4 KiB cells; the same mean cost. */
  poisson: { kind: "poisson", meanIntervalMs: 500, cellSize: 4096 },
} as const satisfies Record<string, ShapingProfile>;
/** The name of one of the `ShapingProfiles`: `"off"`, `"constant"` or `"poisson"`. */
export type ShapingProfileName = keyof typeof ShapingProfiles;
