// Field types shared by every service's config schema.
import { z } from "zod";
import { splitHostPort } from "./load.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses Go-style durations ("30s", "2m", "1h30m", "500ms", "0"), plus days ("90d"), into milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return text.length > 0 ? total : undefined;
}

/** A duration given as a string ("30s") or a number of seconds; yields milliseconds. */
export const duration = (fallback: string) =>
  z
    .union([z.string(), z.number().nonnegative()])
    .default(fallback)
    .transform((v, ctx) => {
      const ms = typeof v === "number" ? v * 1000 : parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is not a duration like "30s" or "2m": ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return ms;
    });

/** host:port, where host may be empty (all interfaces) and port may be 0 (chosen by the OS). */
export const listenAddr = z.string().refine((v) => {
  const { port } = splitHostPort(v);
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}, 'must be host:port, for example "127.0.0.1:8443" or ":8443"');

export const logLevel = z.enum(["debug", "info", "warn", "error"]).default("info");

/**
 * The [server] keys of both daemons that bound what a client can make them hold: connections
 * (in all, per source address, the first request's deadline) and request bodies (one RPC
 * message, all buffered bodies together). docs/security.md, "Resource limits".
 */
export function serverLimits(defaults: { maxConnections: number; maxConnectionsPerAddress: number }) {
  return {
    /** Open connections at most; at the cap the oldest idle never-authenticated one gives way. */
    max_connections: z.number().int().positive().default(defaults.maxConnections),
    /** Open connections from one source address at most; further ones are closed at once. */
    max_connections_per_address: z.number().int().positive().default(defaults.maxConnectionsPerAddress),
    /** A connection must finish its TLS handshake and send its first request's headers within this, or it is closed; 0 = no limit. */
    first_request_timeout: duration("5s"),
    /** Largest RPC message, in bytes (after decompression). */
    max_rpc_bytes: z
      .number()
      .int()
      .positive()
      .max(0xffffffff)
      .default(1024 * 1024),
    /** Request bodies held in memory at once, in bytes, across all connections; past it new bodies are answered 503 with Retry-After. */
    max_buffered_body_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
  };
}
