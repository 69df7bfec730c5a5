/**
 * The agent's one line of work: commands from its socket and its own reading of the groups run
 * one at a time, so no two of them change the profile or a group's MLS state at once (as two
 * one-shot commands never do: the profile's lock keeps them apart).
 */

/**
 * @example
 * const queue = new TaskQueue();
 * const code = await queue.run(() => runGroup("send", ["friends", "hi"], profile, io, input));
 * await queue.idle(); // everything queued so far has finished
 */
export class TaskQueue {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `task` once every task queued before it has finished; resolves with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every task queued so far has finished (failed ones included). */
  idle(): Promise<void> {
    return this.#tail;
  }
}
