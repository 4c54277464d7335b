/**
 * Structured JSON lines on stdout. Callers never pass secrets: tokens and passwords stay out of
 * logs. The one exception is `start --demo`, which logs the passwords of the demo accounts it has
 * just made, because showing them is the point.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = console.log,
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (lvl: LogLevel) => (msg: string, fields: Fields = {}) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    sink(
      JSON.stringify({
        time: new Date().toISOString(),
        level: lvl,
        msg,
        ...fields,
      }),
    );
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** For tests: keeps every line so a test can assert what was (and was not) logged. */
export function createMemoryLogger(): Logger & { lines: Fields[] } {
  const lines: Fields[] = [];
  const logger = createLogger("debug", (line) => lines.push(JSON.parse(line)));
  return Object.assign(logger, { lines });
}
