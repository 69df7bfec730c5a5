/**
 * The relay's log on Node: one line per event on a stream (stderr for `shroud serve`), as text
 * for a terminal or JSON for a collector, at or above a level. Lines carry no timestamp of their
 * own: journald, Docker and the like stamp them, and a relay that dates nothing cannot leak a
 * date through its log format.
 */
import {
  logs,
  textLogLine,
  type LogFields,
  type Logger,
  type LogLevel,
} from "../../relay/ports/logger.js";

export const LogFormat = { text: "text", json: "json" } as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

export interface StreamLoggerOptions {
  /** Least level written (default "info"). */
  level?: LogLevel;
  /** "text" (default): `shroud: warn: message (key=value ...)`; "json": one object per line. */
  format?: LogFormat;
}

/**
 * @example
 * const logger = new StreamLogger((line) => process.stderr.write(line), { format: "json" });
 * logger.log("info", "started", "relay listening", { origin: "https://relay.example" });
 * // {"level":"info","event":"started","msg":"relay listening","origin":"https://relay.example"}
 */
export class StreamLogger implements Logger {
  readonly #write: (line: string) => void;
  readonly #level: LogLevel;
  readonly #format: LogFormat;

  constructor(write: (line: string) => void, options: StreamLoggerOptions = {}) {
    this.#write = write;
    this.#level = options.level ?? "info";
    this.#format = options.format ?? "text";
  }

  log(level: LogLevel, event: string, message: string, fields: LogFields = {}): void {
    if (!logs(level, this.#level)) return;
    if (this.#format === "json") {
      // Fields after the fixed keys, and never over them: an event cannot forge its level.
      const extra = Object.entries(fields).filter(
        ([key]) => !["level", "event", "msg"].includes(key),
      );
      this.#write(
        `${JSON.stringify({ level, event, msg: message, ...Object.fromEntries(extra) })}\n`,
      );
      return;
    }
    this.#write(`${textLogLine(level, message, fields)}\n`);
  }
}
