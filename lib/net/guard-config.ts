// The connection guard and TLS handshake limit as both daemons configure them
// from their [server] tables.
import type { Logger } from "../log/logger.ts";
import { ConnectionGuard } from "./connection-guard.ts";

export interface ConnectionLimits {
  max_connections: number;
  max_connections_per_address: number;
  first_request_timeout: number;
}

/**
 * A guard whose refusals are logged at most once a minute, with counts per reason: the
 * first at once, the ones that follow within the minute when it is over.
 */
export function guardConnections(limits: ConnectionLimits, log: Logger): ConnectionGuard {
  let counts: Record<string, number> = {};
  let last = 0;
  let pending: NodeJS.Timeout | undefined;
  const flush = () => {
    pending = undefined;
    if (Object.keys(counts).length === 0) return;
    last = Date.now();
    log.warn(
      { ...counts, max_connections: limits.max_connections, max_connections_per_address: limits.max_connections_per_address },
      "connections closed by the connection limits",
    );
    counts = {};
  };
  return new ConnectionGuard({
    maxConnections: limits.max_connections,
    maxPerAddress: limits.max_connections_per_address,
    firstRequestMs: limits.first_request_timeout,
    onRefused(reason) {
      counts[reason] = (counts[reason] ?? 0) + 1;
      const wait = 60_000 - (Date.now() - last);
      if (wait <= 0) return flush();
      pending ??= setTimeout(flush, wait).unref();
    },
  });
}

/** Node's TLS handshakeTimeout: the handshake must be over before the first request is due. */
export function handshakeTimeout(limits: { first_request_timeout: number }): { handshakeTimeout?: number } {
  return limits.first_request_timeout > 0 ? { handshakeTimeout: limits.first_request_timeout } : {};
}
