// Structured JSON logs on stderr (journald keeps them). Every record passes through
// redactValue (lib/log/redact.ts) before pino sees it: secrets are removed by key at
// any depth and in any case, and credentials embedded in strings (the message too).
import { pino, destination as pinoDestination, stdSerializers, type Logger, type LoggerOptions } from "pino";
import { redactString, redactValue } from "./redact.ts";

export type { Logger };

type Hooks = NonNullable<LoggerOptions["hooks"]>;

/** Runs only for enabled levels, so disabled debug calls cost nothing. */
const redactArgs: NonNullable<Hooks["logMethod"]> = function (args, method) {
  const out = args.map((a: unknown, i) => {
    if (typeof a === "string") return redactString(a);
    if (typeof a !== "object" || a === null) return a;
    // pino logs a bare Error as {err} (its message becomes msg) and maps raw http
    // requests/responses itself; both happen after this hook, so do them here.
    if (i === 0 && a instanceof Error) return { err: redactValue(a) };
    if (i === 0 && isHttpMessage(a)) return redactValue(pinoRequestOrResponse(a));
    return redactValue(a);
  });
  return method.apply(this, out as Parameters<typeof method>);
};

function isHttpMessage(o: object): boolean {
  const m = o as { method?: unknown; headers?: unknown; socket?: unknown; setHeader?: unknown };
  return (m.method !== undefined && m.headers !== undefined && m.socket !== undefined) || typeof m.setHeader === "function";
}

/** What pino itself logs for a raw http request/response, so that it can be redacted first. */
function pinoRequestOrResponse(o: object): object {
  return typeof (o as { setHeader?: unknown }).setHeader === "function"
    ? stdSerializers.mapHttpResponse(o as never)
    : stdSerializers.mapHttpRequest(o as never);
}

export function createLogger(name: string, level = "info", destination: number | NodeJS.WritableStream = 2): Logger {
  const dest = typeof destination === "number" ? pinoDestination({ fd: destination, sync: true }) : destination;
  const logger = pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { logMethod: redactArgs },
      // Errors are already serialized (and redacted) by the hook; pino's serializer would
      // turn the plain result into type "Object".
      serializers: { err: (e: unknown) => (e instanceof Error ? redactValue(e) : e) },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  // pino gives children no bindings formatter: redact their bindings here. Children inherit
  // this method (a child is Object.create(parent)), so grandchildren are covered too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactValue(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}

/** A logger that drops everything; for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
