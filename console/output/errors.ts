// What went wrong, as the console reports it: a code for scripts (`--json` prints
// {"error":{"code","message"}}), a distinct exit code for each, and one line for people.
import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../../lib/config/load.ts";
import { DefinitionError } from "../../lib/services/definition.ts";

export type ErrorCode = "failed" | "usage" | "invalid" | "not_found" | "unauthenticated" | "permission_denied" | "unreachable";

/** Exit codes, documented in docs/console.md. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  failed: 1,
  usage: 2,
  invalid: 2,
  not_found: 3,
  unauthenticated: 4,
  permission_denied: 5,
  unreachable: 6,
};

export class ConsoleError extends Error {
  override name = "ConsoleError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export const LOGIN_HINT = "run `mcp login`";

/** The TLS failure behind `err` (an untrusted, mismatched, expired or revoked certificate), or undefined. */
function tlsFailure(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL_)/.test(code)) return e;
  }
  return undefined;
}

/** A Connect error from node `node`'s agent, in the console's terms. */
export function agentError(err: unknown, node: string): ConsoleError {
  if (err instanceof ConsoleError) return err;
  // A certificate the console refuses is no answer from the node: it is unreachable, and says why.
  const tls = tlsFailure(err);
  if (tls) return new ConsoleError("unreachable", `node ${node} is unreachable: its TLS certificate is refused: ${tls.message}`);
  const ce = ConnectError.from(err);
  const msg = ce.rawMessage;
  switch (ce.code) {
    case Code.NotFound:
      return new ConsoleError("not_found", `node ${node}: ${msg}`);
    case Code.Unauthenticated:
      return new ConsoleError("unauthenticated", `node ${node} refused the session (${msg}): ${LOGIN_HINT}`);
    case Code.PermissionDenied:
      return new ConsoleError("permission_denied", `node ${node}: ${msg}`);
    case Code.InvalidArgument:
      return new ConsoleError("invalid", `node ${node}: ${msg}`);
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return new ConsoleError("unreachable", `node ${node} is unreachable: ${msg}`);
    case Code.Canceled:
      return new ConsoleError("failed", `node ${node}: canceled`);
    default:
      return new ConsoleError("failed", `node ${node}: ${msg}`);
  }
}

/** Any error thrown by a command, as a ConsoleError. */
export function toConsoleError(err: unknown): ConsoleError {
  if (err instanceof ConsoleError) return err;
  if (err instanceof ConfigError || err instanceof DefinitionError) return new ConsoleError("invalid", err.message);
  if (err instanceof ConnectError) return agentError(err, "?");
  return new ConsoleError("failed", err instanceof Error ? err.message : String(err));
}

export const errorDocument = (e: ConsoleError) => ({ error: { code: e.code, message: e.message } });
