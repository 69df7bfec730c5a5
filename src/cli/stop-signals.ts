/**
 * How a long-running command (`serve`, `agent`) hears that it should stop: SIGINT or SIGTERM
 * once stops it cleanly; a second one means "now" and ends the process by the signal's default
 * action. Listening starts at once, so a signal during a slow start-up still shuts down cleanly.
 */

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export interface StopSignals<Reason = never> {
  /** Resolves with the first reason to stop: a signal, or one given to `request`. */
  readonly requested: Promise<NodeJS.Signals | Reason>;
  /** Whether a stop was requested. */
  readonly stopping: boolean;
  /** Requests a stop for another reason (a fault); nothing if one was already requested. */
  request(reason: Reason): void;
  /** Stops listening (in the command's `finally`). */
  dispose(): void;
}

/**
 * @example
 * const signals = listenForStop<"fault">();
 * try {
 *   await start();
 *   const reason = await signals.requested;
 * } finally {
 *   signals.dispose();
 * }
 */
export function listenForStop<Reason = never>(): StopSignals<Reason> {
  let resolve: (reason: NodeJS.Signals | Reason) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals | Reason>((r) => (resolve = r));
  let stopping = false;
  const dispose = () => {
    for (const name of SIGNALS) process.removeListener(name, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      dispose();
      process.kill(process.pid, signal);
      return;
    }
    stopping = true;
    resolve(signal);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    requested,
    get stopping() {
      return stopping;
    },
    request(reason) {
      if (stopping) return;
      stopping = true;
      resolve(reason);
    },
    dispose,
  };
}
