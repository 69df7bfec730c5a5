/**
 * Child processes of the bench and the tests: spawn with piped output, wait for a line, stop
 * with a signal (SIGKILL after a grace period), and kill synchronously when the parent itself is
 * exiting.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** Most bytes of a child's stderr kept for error messages, unless the caller asks for more. */
const STDERR_KEPT = 4000;

export interface ManagedChildOptions extends SpawnOptions {
  /** Most bytes of stderr kept (default 4000; a test that asserts on the log keeps it all). */
  stderrLimit?: number;
}

export class ManagedChild {
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stdoutRest = "";
  #stderr = "";
  #lineListeners: ((line: string) => void)[] = [];

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    { stderrLimit = STDERR_KEPT, ...options }: ManagedChildOptions = {},
  ) {
    this.#child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    this.#exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => resolve(signal ? null : code));
      // A spawn failure (ENOENT) emits "error" and no "exit".
      this.#child.once("error", (error) => {
        this.#stderr += `\n${error.message}`;
        resolve(null);
      });
    });
    this.#child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (this.#stdoutRest + chunk).split("\n");
      this.#stdoutRest = lines.pop() ?? "";
      for (const line of lines) for (const listener of this.#lineListeners) listener(line);
    });
    this.#child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-stderrLimit);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the child is still running (it has neither exited nor been killed). */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The end of what the child wrote to stderr (for error messages). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  /** Calls `listener` with every complete stdout line from now on. */
  onLine(listener: (line: string) => void): void {
    this.#lineListeners.push(listener);
  }

  /** Resolves with the exit code (null when killed by a signal or never started). */
  exited(): Promise<number | null> {
    return this.#exited;
  }

  /**
   * Resolves with the first stdout line `match` returns a value for; rejects if the child exits
   * first or `timeoutMs` passes.
   */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no expected output in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.onLine((line) => {
        const value = match(line);
        if (value === undefined) return;
        clearTimeout(timer);
        resolve(value);
      });
      void this.#exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(`${this.name} exited (${code ?? "signal"}): ${this.stderr || "no stderr"}`),
        );
      });
    });
  }

  /** Sends `signal`, then SIGKILL if the child is still running after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exited;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL now, without waiting (for exit handlers). */
  killNow(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill("SIGKILL");
    }
  }
}
