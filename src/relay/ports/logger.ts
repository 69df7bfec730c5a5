/**
 * Logger port: what a relay tells its operator, as an event at a level with a message and a few
 * fields. Fields come from fixed sets or from the operator's own configuration (a peer's origin,
 * an error's class name, a count): never a client address, an inbox id, a token, a size or the
 * time of one request. Failures of single requests are summed and reported with maintenance,
 * so that no line's timestamp (which the supervisor adds) dates a request.
 */
export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LogLevel;

/** Values from fixed sets or the operator's configuration; never about one client. */
export type LogFields = Readonly<Record<string, string | number>>;

/**
 * @example logger.log("warn", "peer_unreachable", "peer unreachable", { peer: "https://b.example" });
 */
export interface Logger {
  /** One event: its level, a stable name (`peer_unreachable`), a sentence and a few fields. */
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

/** Whether a line at `level` passes a threshold of `threshold`. */
export function logs(level: LogLevel, threshold: LogLevel): boolean {
  return LogLevel[level] >= LogLevel[threshold];
}

/**
 * One line of text for a terminal: `shroud: message (key=value ...)`, with the level named
 * when it is not "info".
 *
 * @example textLogLine("warn", "peer unreachable", { peer: "https://b.example" }) // "shroud: warn: peer unreachable (peer=https://b.example)"
 */
export function textLogLine(level: LogLevel, message: string, fields: LogFields = {}): string {
  const detail = Object.entries(fields)
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
  const prefix = level === "info" ? "shroud:" : `shroud: ${level}:`;
  return `${prefix} ${message}${detail ? ` (${detail})` : ""}`;
}

/** The default where nothing else is given: text lines on the runtime's console (stderr). */
export const consoleLogger: Logger = {
  log(level, _event, message, fields) {
    console.error(textLogLine(level, message, fields));
  },
};
