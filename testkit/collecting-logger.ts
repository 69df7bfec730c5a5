/** A relay logger for tests: every event as the text line an operator would read, kept. */
import { textLogLine, type Logger } from "../src/relay/ports/logger.js";

/**
 * @example
 * const logs: string[] = [];
 * const ports = { ...memoryPorts(), logger: collectingLogger(logs) };
 */
export function collectingLogger(lines: string[]): Logger {
  return {
    log: (level, _event, message, fields) => void lines.push(textLogLine(level, message, fields)),
  };
}
