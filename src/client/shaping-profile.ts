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
    }
  | {
      kind: "poisson";
      /** Mean milliseconds between two slots (gaps drawn from an exponential distribution). */
      meanIntervalMs: number;
      cellSize: number;
      dropShare?: number;
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
