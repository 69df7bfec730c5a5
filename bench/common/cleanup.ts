/**
 * What the bench must undo (child processes, temporary directories, keys in a shared Redis),
 * undone newest first on success, failure or SIGINT/SIGTERM, and as a last resort synchronously
 * when the process exits.
 */
import { exit } from "node:process";

export interface CleanupStep {
  name: string;
  /** Orderly undo. */
  stop(): Promise<void>;
  /** Synchronous best effort for the process "exit" event (e.g. SIGKILL, rmSync). */
  now(): void;
}

interface PendingStep {
  step: CleanupStep;
  undo: () => Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * @example
 * const cleanup = new Cleanup();
 * try { const stopServer = cleanup.add(step); ...; await stopServer(); } finally { await cleanup.close(); }
 */
export class Cleanup {
  /** Pending steps, each with its undo. */
  #steps: PendingStep[] = [];
  readonly #onExit = () => {
    for (const { step } of this.#steps.reverse()) step.now();
    this.#steps = [];
  };
  readonly #onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the bench's child processes`);
    void this.close().finally(() => exit(130));
  };

  constructor() {
    process.on("exit", this.#onExit);
    for (const signal of SIGNALS) process.on(signal, this.#onSignal);
  }

  /** Registers a step; the function returned undoes it now (once; later calls share it). */
  add(step: CleanupStep): () => Promise<void> {
    let running: Promise<void> | undefined;
    const undo = (): Promise<void> =>
      (running ??= (async () => {
        try {
          await step.stop();
        } catch (error) {
          console.error(`cleanup: ${step.name} failed (${String(error)}); killing it`);
          step.now();
        } finally {
          this.#steps = this.#steps.filter((e) => e !== entry);
        }
      })());
    const entry: PendingStep = { step, undo };
    this.#steps.push(entry);
    return undo;
  }

  /** Undoes every pending step, newest first, and removes the process handlers. */
  async close(): Promise<void> {
    while (this.#steps.length > 0) await this.#steps[this.#steps.length - 1]!.undo();
    process.removeListener("exit", this.#onExit);
    for (const signal of SIGNALS) process.removeListener(signal, this.#onSignal);
  }
}
