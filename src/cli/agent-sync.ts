/**
 * The agent reads on its own: it joins the groups it was invited to and reads every group on a
 * timer whose gaps are exponential draws from the CSPRNG (so they follow nothing the user does),
 * and keeps what it read in each group's saved session for `group read` to print. Nothing here
 * is logged: a failure is kept for the next `group read` to report, as a one-shot read would.
 */
import type { GroupEvent } from "../client/mls/group-session.js";
import { slotGap } from "../client/traffic-shaper.js";
import { ShroudError } from "../protocol/errors.js";
import type { TaskQueue } from "./agent-queue.js";
import { CliError } from "./cli-support.js";
import type { ReadSource } from "./group-command.js";
import type { LoadedGroup, Profile } from "./profile-context.js";

type Timer = ReturnType<typeof setTimeout>;

function asShroudError(error: unknown): ShroudError {
  if (error instanceof ShroudError) return error;
  return new CliError(
    `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/**
 * @example
 * const sync = new AgentSync(profile, queue, 5000);
 * sync.start();
 * await runGroup("read", [], profile, io, { cards: [], source: sync.source });
 * await sync.stop();
 */
export class AgentSync {
  #timer: Timer | undefined;
  #stopped = true;
  #round: Promise<void> = Promise.resolve();
  #invitationError: ShroudError | undefined;
  readonly #errors = new Map<LoadedGroup["session"], ShroudError>();

  constructor(
    private readonly profile: Profile,
    private readonly queue: TaskQueue,
    /** Mean milliseconds between two readings. */
    private readonly meanGapMs: number,
  ) {}

  /** Starts reading, the first time after a gap like any other. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm();
  }

  /** Stops the timer and waits for a reading under way to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** What `group read` prints when the agent runs it: what was read, not a fetch now. */
  readonly source: ReadSource = {
    invitations: async () => {
      if (this.#invitationError) throw this.#invitationError;
    },
    events: async (group): Promise<{ events: GroupEvent[]; error?: ShroudError | undefined }> => ({
      events: await group.session.take(),
      error: this.#errors.get(group.session),
    }),
  };

  #arm(): void {
    // Exponential gaps: memoryless, so when the next reading comes says nothing of the last.
    const gap = slotGap({ kind: "poisson", meanIntervalMs: this.meanGapMs, cellSize: 0 });
    this.#timer = setTimeout(() => {
      this.#round = this.#read().finally(() => {
        if (!this.#stopped) this.#arm();
      });
    }, gap);
  }

  /** One reading: invitations, then each group, each a task of its own so commands get between. */
  async #read(): Promise<void> {
    await this.queue
      .run(async () => {
        const { joined, problems } = await this.profile.acceptInvitations();
        // Key packages were used up: the card others add this member with must say so.
        if (joined.length + problems.length > 0) await this.profile.writeCard();
      })
      .then(
        () => (this.#invitationError = undefined),
        (error: unknown) => (this.#invitationError = asShroudError(error)),
      );
    let groups: LoadedGroup[];
    try {
      groups = await this.queue.run(() => this.profile.loadGroups());
    } catch {
      return; // a damaged group file: `group read` and `group list` report it
    }
    for (const group of groups) {
      if (this.#stopped) return;
      if (group.session.removed) continue;
      await this.queue
        .run(() => group.session.poll())
        .then(
          () => this.#errors.delete(group.session),
          (error: unknown) => this.#errors.set(group.session, asShroudError(error)),
        );
    }
  }
}
