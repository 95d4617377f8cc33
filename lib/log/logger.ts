// Structured JSON logs on stderr (journald keeps them). Secrets are redacted
// by key wherever they appear, so a careless field never leaks a credential.
import { pino, destination as pinoDestination, type Logger } from "pino";

export type { Logger };

const REDACT = [
  "authorization",
  "password",
  "token",
  "*.authorization",
  "*.password",
  "*.token",
  "req.headers.authorization",
  "req.headers.cookie",
];

export function createLogger(name: string, level = "info", destination: number | NodeJS.WritableStream = 2): Logger {
  const dest = typeof destination === "number" ? pinoDestination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

/** A logger that drops everything; for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
