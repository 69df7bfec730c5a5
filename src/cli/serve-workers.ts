/**
 * `shroud serve --workers N` on Redis: N relay processes (node:cluster workers) share one
 * listening socket, so a relay uses every core. They hold no state of their own: inboxes,
 * rounds, replay records and keys are in Redis, and BullMQ closes each round once across them,
 * as it does for relays on several machines. The primary process only starts the workers,
 * starts another when one dies, and passes on signals; it never sees a request.
 */
import cluster, { type Worker } from "node:cluster";
import { line, within, type CliIo } from "./cli-support.js";
import { listenForStop } from "./stop-signals.js";
import type { LogLevel } from "../relay/ports/logger.js";

/** What a worker tells the primary once it serves: the URL it answers on. */
interface ListeningMessage {
  shroud: "listening";
  url: string;
}

function isListening(message: unknown): message is ListeningMessage {
  const candidate = message as Partial<ListeningMessage> | null;
  return candidate?.shroud === "listening" && typeof candidate.url === "string";
}

/**
 * In a worker: tells the primary that this relay serves at `url` (the primary prints the one
 * banner).
 */
export function reportListening(url: string): void {
  process.send?.({ shroud: "listening", url } satisfies ListeningMessage);
}

/** Whether this process is a worker that `--workers` started. */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/** What the primary tells a worker to shut down. */
const STOP = { shroud: "stop" } as const;

/**
 * In a worker: calls `onStop` when the primary asks it to stop, or when the primary is gone
 * (killed, say), so it does not serve on with no one to restart it. The primary asks over IPC,
 * not with a signal: Ctrl-C already signals every process of the group, and a second signal
 * would mean "stop now".
 */
export function onPrimaryStop(onStop: () => void): void {
  process.on("message", (message: unknown) => {
    if ((message as Partial<typeof STOP> | null)?.shroud === STOP.shroud) onStop();
  });
  process.once("disconnect", onStop);
}

/** How the primary reports: serve's log lines, and the banner once every worker serves. */
export interface Supervision {
  count: number;
  io: CliIo;
  say: (level: LogLevel, event: string, text: string) => void;
  banner: (url: string) => Promise<void>;
  /** How long the workers may take to deliver their open rounds and exit. */
  shutdownMs: number;
}

/** Restarts allowed in RESTART_WINDOW_MS per worker slot before the primary gives up. */
const RESTARTS_PER_WINDOW = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * Runs the primary: starts `count` workers, restarts one that dies while serving (unless they
 * keep dying: then it stops them all), and on SIGINT or SIGTERM has each deliver its open round
 * and exit. Resolves with serve's exit code: 0 after a clean stop, 1 when a worker could not
 * start, kept dying, or did not stop in time.
 *
 * @example return superviseWorkers({ count: 2, io, say, banner, shutdownMs: 15_000 });
 */
export async function superviseWorkers(options: Supervision): Promise<number> {
  const { count, io, say } = options;
  const signals = listenForStop<"failed">();
  /** Each live worker: its URL once it serves (undefined if it exits first), and its exit code. */
  const live = new Map<Worker, { listening: Promise<string | undefined>; exit: Promise<number> }>();
  /** Workers that said they serve: they have their stop handler. */
  const serving = new WeakSet<Worker>();
  const restarts: number[] = [];
  let started = false;
  let failed = false;
  const fork = () => {
    const worker = cluster.fork();
    const exit = new Promise<number>((resolve) =>
      worker.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
    );
    const listening = new Promise<string | undefined>((resolve) => {
      worker.on("message", (message: unknown) => {
        if (!isListening(message)) return;
        serving.add(worker);
        resolve(message.url);
      });
      void exit.then(() => resolve(undefined));
    });
    live.set(worker, { listening, exit });
    worker.once("exit", (code, signal) => {
      live.delete(worker);
      if (signals.stopping) return;
      if (!started) {
        // The first worker's failure ends the start by itself (see below).
        if (live.size > 0) {
          say("error", "worker_failed", "shroud: a worker could not start; stopping");
        }
        failed = true;
        signals.request("failed");
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > RESTARTS_PER_WINDOW * count) {
        say("error", "workers_failing", "shroud: workers keep exiting; stopping");
        failed = true;
        signals.request("failed");
        return;
      }
      say(
        "warn",
        "worker_exited",
        `shroud: a worker exited (${signal ?? `code ${code}`}); starting another`,
      );
      fork();
    });
    return listening;
  };
  // Each worker reloads on its own; the line says it was asked (workers print nothing).
  const onHangup = () => {
    // One still starting loads the keys anyway, and would die of a SIGHUP it has no handler for.
    for (const worker of live.keys()) if (serving.has(worker)) worker.process.kill("SIGHUP");
    void line(io.stdout, "SIGHUP: every worker reloads its keys");
  };
  process.on("SIGHUP", onHangup);
  try {
    // One worker first: if it cannot start (Redis down, the port taken), it has said why in
    // one line and there is nothing more to say. Then the others, which share its socket.
    const url = await fork();
    if (url === undefined) return 1;
    const others = await Promise.all(Array.from({ length: count - 1 }, fork));
    if (others.every((other) => other !== undefined)) {
      started = true;
      await options.banner(url);
    }
    const reason = await signals.requested;
    if (reason !== "failed") {
      await line(io.stdout, `${reason}: closing (delivering the open round)`);
    }
    // Each worker delivers its open round and exits, as a single serve does on a signal. One
    // still starting (a replacement) may not listen for the message yet: a signal stops it,
    // cleanly if its handlers are in place, else at once (it has served nothing).
    const stopping = [...live];
    for (const [worker] of stopping) {
      if (serving.has(worker) && worker.isConnected()) worker.send(STOP);
      else worker.process.kill("SIGTERM");
    }
    const codes = await within(
      Promise.all(stopping.map(([, { exit }]) => exit)),
      options.shutdownMs,
    );
    if (codes === "timeout") {
      say(
        "error",
        "shutdown_timeout",
        `shroud: ${live.size} workers did not stop in time; killing them`,
      );
      for (const worker of live.keys()) worker.process.kill("SIGKILL");
      return 1;
    }
    if (failed) return 1;
    // One stopped by a signal before it served (see above) is no failure.
    const clean = stopping.every(([worker], i) => codes[i] === 0 || !serving.has(worker));
    if (clean && started) await line(io.stdout, "relay closed");
    return clean && started ? 0 : 1;
  } finally {
    signals.dispose();
    process.removeListener("SIGHUP", onHangup);
  }
}
