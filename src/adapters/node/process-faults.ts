/**
 * What a long-running relay process does with a fault nobody caught (an uncaught exception, an
 * unhandled rejection, a Redis connection error event): log one line, then keep serving when the
 * fault is an outage of something reached over the network (Redis, a peer), which passes when it
 * comes back, or shut down cleanly for a supervisor otherwise. The line names the error's class
 * and code only: messages and stacks may quote addresses, ids or payload bytes.
 */
import { ShroudError } from "../../protocol/errors.js";

/** Error codes of network outages (Node's system errors and undici's). */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ABORT_ERR",
]);

/**
 * Error classes of a Redis or network outage: ioredis' reply, retry and abort errors (a full or
 * loading Redis, a command Redis refused, a connection lost mid-command) and timeouts.
 */
const TRANSIENT_NAMES = new Set([
  "ReplyError",
  "MaxRetriesPerRequestError",
  "AbortError",
  "TimeoutError",
]);

/** ioredis rejects a command on a closed connection with a plain Error with this message. */
const CONNECTION_CLOSED = "Connection is closed.";

/** How often at most one kind of transient fault is logged again. */
export const FAULT_LOG_INTERVAL_MS = 10_000;

/**
 * Whether a fault is an outage the relay outlives (Redis or the network away, a reply Redis
 * refused); false for anything else, a programming error above all.
 *
 * @example isTransientFault(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })) // true
 */
export function isTransientFault(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  if (TRANSIENT_NAMES.has(error.name) || TRANSIENT_NAMES.has(error.constructor.name)) return true;
  if (error.message === CONNECTION_CLOSED) return true;
  if (error instanceof ShroudError && error.code === "transport") return true;
  return isTransientFault((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * A label for a fault that is safe to log: its class and code, never its message or stack.
 *
 * @example faultLabel(Object.assign(new Error("connect 10.0.0.5:6379"), { code: "ECONNREFUSED" })) // "Error ECONNREFUSED"
 */
export function faultLabel(error: unknown): string {
  if (!(error instanceof Error))
    return typeof error === "object" ? "non-error object" : typeof error;
  const name = /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : "Error";
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[A-Z][A-Z0-9_]{0,39}$/.test(code) ? `${name} ${code}` : name;
}

export interface ProcessFaultHandlers {
  /** A transient fault: already logged (rate-limited); the relay keeps serving. */
  transient?(label: string): void;
  /** Any other fault, once: the caller logs nothing more and shuts down, exiting non-zero. */
  fatal(label: string, origin: "uncaught exception" | "unhandled rejection"): void;
}

/**
 * Logs transient faults at most once per FAULT_LOG_INTERVAL_MS per label, with how many more
 * there were meanwhile.
 *
 * @example const log = new FaultLog((line) => console.error(line)); log.note("redis", "Error ECONNREFUSED");
 */
export class FaultLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One line for `where` and `label` unless the same was logged within the interval. */
  note(where: string, label: string): void {
    const key = `${where}\u0000${label}`;
    const now = this.now();
    const last = this.#last.get(key);
    if (last && now - last.at < FAULT_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more since the last report)` : "";
    this.#last.set(key, { at: now, suppressed: 0 });
    this.write(`shroud: ${where}: ${label}${more}; still serving`);
  }
}

/**
 * Installs process-wide handlers for uncaught exceptions and unhandled rejections. Transient
 * ones are logged through `log` and otherwise ignored; the first other one goes to `fatal` (later
 * ones are dropped: the process is already shutting down). Returns the uninstaller.
 *
 * @example
 * const uninstall = installFaultHandlers(new FaultLog(writeLine), { fatal: () => stop(1) });
 */
export function installFaultHandlers(log: FaultLog, handlers: ProcessFaultHandlers): () => void {
  let fatal = false;
  const handle = (origin: "uncaught exception" | "unhandled rejection") => (error: unknown) => {
    const label = faultLabel(error);
    if (isTransientFault(error)) {
      log.note(origin, label);
      handlers.transient?.(label);
      return;
    }
    if (fatal) return;
    fatal = true;
    handlers.fatal(label, origin);
  };
  const onException = handle("uncaught exception");
  const onRejection = handle("unhandled rejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.removeListener("uncaughtException", onException);
    process.removeListener("unhandledRejection", onRejection);
  };
}
