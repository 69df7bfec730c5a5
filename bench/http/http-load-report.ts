/**
 * What the HTTP load client (http-load-client.ts, a child process) tells the bench: one JSON
 * object per stdout line, a "window-start" event when the measured window opens and a "result"
 * at the end.
 */
import type { TimedRunResult } from "../common/timed-run.js";

export interface HttpLoadResult {
  /** Connections, which is also requests in flight. */
  connections: number;
  inboxes: number;
  messageBytes: number;
  /** Size of every request body (and answer): the deposit's bucket. */
  bodyBytes: number;
  /** Bodies pre-sealed by RelayClient before the window, and how long sealing them took. */
  sealed: number;
  sealSeconds: number;
  /** Pre-sealed bodies sent first to warm up the fresh relay, not measured. */
  relayWarmup: TimedRunResult;
  /** The sizing run after that: as fast as the relay answers; its rate sizes the pool. */
  calibration: TimedRunResult;
  /** Warm-up and measured window. */
  run: TimedRunResult;
  /** Answers by HTTP status over all phases. */
  statuses: Record<string, number>;
  /** Deposits answered HTTP 200 with a body of the request's size, over all phases. */
  answered: number;
}

export type LoadEvent = { event: "window-start" } | { event: "result"; result: HttpLoadResult };

/** The event on a stdout line of the load client, or undefined for any other line. */
export function parseLoadEvent(line: string): LoadEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line) as LoadEvent;
    return value.event === "window-start" || value.event === "result" ? value : undefined;
  } catch {
    return undefined;
  }
}
