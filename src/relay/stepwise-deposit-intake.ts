/**
 * A deposit as three calls on the ports: replay set, inbox store, round pool. Every backend
 * without a combined step runs deposits this way, and so does any relay whose ports are wrapped.
 */
import type {
  Deposit,
  DepositIntake,
  DepositOutcome,
  DepositParts,
} from "./ports/deposit-intake.js";

/**
 * The default deposit intake, composed of the ports. Each call is atomic on its own: the replay
 * record first (a replay changes nothing), then the inbox's admission (with its expiry
 * registration), then the round pool's add against what the inbox stores.
 *
 * @example
 * const intake = new StepwiseDepositIntake(memoryPorts());
 * await intake.deposit({ entry, expiresDay, limits: { maxItems: 100, maxBytes: 1 << 20 } });
 */
export class StepwiseDepositIntake implements DepositIntake {
  readonly parts: DepositParts;
  readonly atomic = false;

  constructor(parts: DepositParts) {
    this.parts = { inboxes: parts.inboxes, pool: parts.pool, replay: parts.replay };
  }

  async deposit({ entry, expiresDay, limits, replay }: Deposit): Promise<DepositOutcome> {
    const { inboxes, pool, replay: records } = this.parts;
    if (replay && !(await records.add(replay.keyTag, replay.enc))) return "replay";
    const admission = await inboxes.admit(entry.inboxId, entry.messageId, expiresDay);
    if (admission === "full") return "full";
    if (admission.duplicate) return "duplicate";
    return pool.add(entry, { stored: admission.stored, ...limits });
  }
}

/**
 * The intake a relay on `ports` uses: the backend's own (`ports.deposits`) when it was built
 * over exactly these inbox store, round pool and replay set, else their composition.
 *
 * @example const intake = depositIntakeFor(ports);
 */
export function depositIntakeFor(
  ports: DepositParts & { deposits?: DepositIntake },
): DepositIntake {
  const own = ports.deposits;
  if (
    own &&
    own.parts.inboxes === ports.inboxes &&
    own.parts.pool === ports.pool &&
    own.parts.replay === ports.replay
  ) {
    return own;
  }
  return new StepwiseDepositIntake(ports);
}
