// mcr's admin RPCs (proto/mcr/v1, docs/admin-api.md) as the console calls them: Connect
// over TLS 1.3 trusting the registry's CA, the console's registry token ("mcr" audience)
// on every call, a timeout on unary calls; streams (GC Watch, audit follow) run until
// cancelled. Tests pass an in-memory transport.
import { Code, ConnectError, createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcService } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { NodeService } from "../../proto/gen/mcr/v1/node_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import { ConsoleError, LOGIN_HINT } from "../output/errors.ts";

export interface McrAdmin {
  /** The registry's URL, as the console config names it. */
  url: string;
  registry: Client<typeof RegistryService>;
  gc: Client<typeof GcService>;
  policy: Client<typeof PolicyService>;
  audit: Client<typeof AuditService>;
  admin: Client<typeof AdminService>;
  node: Client<typeof NodeService>;
  /**
   * Options for a call: the bearer token (none when `anonymous`: Health needs none); unary
   * calls get the timeout (or `timeoutMs`) unless `stream`, or `long` (a call that may run for
   * minutes, as a check reading every blob back: `signal` ends it).
   */
  call(opts?: { stream?: boolean; long?: boolean; anonymous?: boolean; signal?: AbortSignal; timeoutMs?: number }): CallOptions;
  close(): void;
}

export interface McrAdminOptions {
  url: string;
  caPem?: string;
  /** The registry token (read when a call is made). */
  token: () => string;
  timeoutMs?: number;
  /** For tests: an in-memory transport (createRouterTransport). */
  transport?: Transport;
}

export function mcrAdmin(o: McrAdminOptions): McrAdmin {
  const tls = { minVersion: "TLSv1.3" as const, ...(o.caPem ? { ca: o.caPem } : {}) };
  const transport = o.transport ?? createConnectTransport({ baseUrl: o.url, httpVersion: "1.1", nodeOptions: tls });
  const timeoutMs = o.timeoutMs ?? 10_000;
  return {
    url: o.url,
    registry: createClient(RegistryService, transport),
    gc: createClient(GcService, transport),
    policy: createClient(PolicyService, transport),
    audit: createClient(AuditService, transport),
    admin: createClient(AdminService, transport),
    node: createClient(NodeService, transport),
    call: (opts = {}) => ({
      ...(opts.anonymous ? {} : { headers: { Authorization: `Bearer ${o.token()}` } }),
      ...(opts.stream || opts.long ? {} : { timeoutMs: opts.timeoutMs ?? timeoutMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }),
    close: () => undefined,
  };
}

/** A Connect error from mcr, in the console's terms (docs/console.md exit codes). */
export function mcrError(err: unknown): ConsoleError {
  if (err instanceof ConsoleError) return err;
  const ce = ConnectError.from(err);
  const msg = ce.rawMessage;
  switch (ce.code) {
    case Code.NotFound:
      return new ConsoleError("not_found", `the registry: ${msg}`);
    case Code.Unauthenticated:
      return new ConsoleError("unauthenticated", `the registry refused the session (${msg}): ${LOGIN_HINT}`);
    case Code.PermissionDenied:
      return new ConsoleError("permission_denied", `the registry: ${msg}`);
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
      return new ConsoleError("invalid", `the registry: ${msg}`);
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return new ConsoleError("unreachable", `the registry is unreachable: ${msg}`);
    case Code.Canceled:
      return new ConsoleError("failed", "the registry: canceled");
    default:
      return new ConsoleError("failed", `the registry: ${msg}`);
  }
}
