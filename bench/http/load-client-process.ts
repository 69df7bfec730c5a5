/**
 * The HTTP load client (http-load-client.ts) in a child process against `url`, stopped by the
 * bench's cleanup whatever happens: the one way the bench starts it.
 */
import { fileURLToPath } from "node:url";
import { ManagedChild } from "../../testkit/child-process.js";
import type { Cleanup } from "../common/cleanup.js";
import { parseLoadEvent, type HttpLoadResult } from "./http-load-report.js";

const LOAD_CLIENT = fileURLToPath(new URL("./http-load-client.js", import.meta.url));
/** Inbox creation, sealing and the runs together stay well under this. */
const LOAD_TIMEOUT_MS = 180_000;

export interface LoadClientOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  inboxes: number;
}

export interface LoadClientRun {
  /** The command line, for the report. */
  command: string;
  /** The child's pid, to sample its CPU while it runs. */
  pid: number | undefined;
  /**
   * Resolves with the load client's result; `onWindowStart` runs when its measured window opens,
   * `onResult` when the result arrives, while the client still runs (to read its CPU time). The
   * client has exited (or been stopped) when it resolves.
   */
  result(onWindowStart: () => void, onResult?: () => void): Promise<HttpLoadResult>;
}

/**
 * @example const load = startLoadClient(url, options, cleanup); const result = await load.result(() => {});
 */
export function startLoadClient(
  url: string,
  options: LoadClientOptions,
  cleanup: Cleanup,
): LoadClientRun {
  const args = ["--url", url, "--connections", String(options.connections)];
  args.push("--seconds", String(options.seconds), "--warmup", String(options.warmupSeconds));
  args.push("--inboxes", String(options.inboxes));
  const load = new ManagedChild("load client", process.execPath, [LOAD_CLIENT, ...args]);
  const stop = cleanup.add({
    name: "load client",
    stop: async () => void (await load.stop("SIGTERM", 2000)),
    now: () => load.killNow(),
  });
  return {
    command: `node dist/bench-run/bench/http/http-load-client.js ${args.join(" ")}`,
    pid: load.pid,
    async result(onWindowStart, onResult) {
      load.onLine((line) => {
        if (parseLoadEvent(line)?.event === "window-start") onWindowStart();
      });
      const result = await load.waitForLine((line) => {
        const event = parseLoadEvent(line);
        return event?.event === "result" ? event.result : undefined;
      }, LOAD_TIMEOUT_MS);
      onResult?.();
      await stop();
      return result;
    },
  };
}
