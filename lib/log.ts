/**
 * Structured logging to stderr: one JSON object a line when stderr is not a terminal (for
 * supervisors and log shippers), `time LEVEL message key=value` on a terminal.
 * @module
 */

/** Log levels, as Live777's `[log] level`. */
export type LogLevel = "off" | "error" | "warn" | "info" | "debug" | "trace";

const ORDER: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A logger; `child` adds fields to every line. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  child(fields: LogFields): Logger;
}

let threshold = ORDER.info;
const json = !Deno.stderr.isTerminal();
const encoder = new TextEncoder();

/** Sets the process-wide log level. */
export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

function write(level: Exclude<LogLevel, "off">, message: string, fields: LogFields): void {
  if (ORDER[level] > threshold) return;
  const time = new Date().toISOString();
  let line: string;
  if (json) {
    line = JSON.stringify({ time, level, message, ...fields }, errorReplacer);
  } else {
    const extra = Object.entries(fields).map(([k, v]) =>
      `${k}=${typeof v === "string" ? v : JSON.stringify(v, errorReplacer)}`
    ).join(" ");
    line = `${time} ${level.toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ""}`;
  }
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}

/** Makes a logger whose lines carry `fields`. */
export function logger(fields: LogFields = {}): Logger {
  return {
    error: (m, f) => write("error", m, { ...fields, ...f }),
    warn: (m, f) => write("warn", m, { ...fields, ...f }),
    info: (m, f) => write("info", m, { ...fields, ...f }),
    debug: (m, f) => write("debug", m, { ...fields, ...f }),
    enabled: (level) => ORDER[level] <= threshold,
    child: (more) => logger({ ...fields, ...more }),
  };
}

/** The root logger. */
export const log: Logger = logger();
