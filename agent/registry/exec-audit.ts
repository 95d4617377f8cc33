// Execs reach the platform's audit log in mcr (AuditService/RecordAgentEvent), reported with
// the agent's own (system) account: `exec_started` before the process starts — the exec is
// refused when mcr does not take it — and `exec_finished` with the exit code when it ends
// (rpc/exec.ts; docs/security.md, "Exec").
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import type { McrSession } from "./mcr-session.ts";

export interface ExecAuditRecord {
  type: "exec_started" | "exec_finished";
  /** The agent's id for this exec, on both of its events. */
  execId: string;
  /** Subject (account id) and username of the caller; empty with authentication off. */
  actor: string;
  username: string;
  node: string;
  service: string;
  component: string;
  container: string;
  command: string[];
  tty: boolean;
  /** exec_finished: the exit code, or why there is none. */
  exitCode?: number;
  error?: string;
  durationMs?: number;
}

/** Where exec events go. `record` resolves once the event is written, and rejects when it is not. */
export interface ExecAudit {
  record(e: ExecAuditRecord): Promise<void>;
}

export interface McrExecAuditOptions {
  /** A registry token of the agent's account. */
  token: () => Promise<string>;
  /** Called with a token mcr refused (revoked, expired): the next `token()` logs in again. */
  refused?: (token: string) => void;
  transport: Transport;
  timeoutMs?: number;
}

/** Records exec events in mcr with the agent's token (one new login when mcr refuses it). */
export function mcrExecAudit(o: McrExecAuditOptions): ExecAudit {
  const client = createClient(AuditService, o.transport);
  return {
    async record(e) {
      for (let attempt = 1; ; attempt++) {
        const token = await o.token();
        try {
          await client.recordAgentEvent(
            {
              type: e.type,
              actor: e.actor,
              username: e.username,
              node: e.node,
              service: e.service,
              component: e.component,
              container: e.container,
              command: e.command,
              tty: e.tty,
              execId: e.execId,
              ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
              error: e.error ?? "",
              durationMs: BigInt(Math.max(0, Math.round(e.durationMs ?? 0))),
            },
            { headers: { authorization: `Bearer ${token}` }, timeoutMs: o.timeoutMs ?? 10_000 },
          );
          return;
        } catch (err) {
          if (!(err instanceof ConnectError) || err.code !== Code.Unauthenticated || attempt > 1) throw err;
          o.refused?.(token);
        }
      }
    },
  };
}

/** The agent's exec audit through mcr at `registryUrl` (https://host:port), with `session`'s account. */
export function execAuditFor(session: McrSession, registryUrl: string, caPem: string | undefined): ExecAudit {
  const transport = createConnectTransport({ baseUrl: registryUrl, httpVersion: "1.1", nodeOptions: caPem ? { ca: caPem } : {} });
  return mcrExecAudit({ token: () => session.token(), refused: (t) => session.tokenRefused(t), transport });
}
