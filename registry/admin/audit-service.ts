// AuditService: the audit log with filters and pagination, and a follow stream.
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import type { AuditLog, AuditRecord } from "../audit/audit-log.ts";
import { AgentEventError, agentAuditEvent } from "../audit/agent-events.ts";
import { callerKey } from "./interceptor.ts";

/** A follower with nothing new gets an empty batch this often, so idle connections stay open. */
export const KEEPALIVE_MS = 15_000;

function checkTime(value: string, field: string): string | undefined {
  if (value === "") return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ConnectError(`${field} must be an RFC 3339 time, got ${JSON.stringify(value)}`, Code.InvalidArgument);
  return new Date(t).toISOString();
}

const toProto = (e: AuditRecord) => ({
  id: BigInt(e.id),
  time: e.time,
  type: e.type,
  actor: e.actor ?? "",
  repository: e.repository ?? "",
  digest: e.digest ?? "",
  ip: e.ip ?? "",
  details: e.details ?? {},
});

/** Resolves after the next audit write, after `ms`, or when `signal` aborts; cancel() stops waiting. */
function nextWrite(audit: AuditLog, ms: number, signal: AbortSignal): { wait: Promise<"written" | "idle">; cancel(): void } {
  let done!: (why: "written" | "idle") => void;
  const wait = new Promise<"written" | "idle">((resolve) => {
    done = (why) => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", aborted);
      resolve(why);
    };
  });
  const aborted = () => done("idle");
  const timer = setTimeout(() => done("idle"), ms);
  const unsubscribe = audit.onWrite(() => done("written"));
  signal.addEventListener("abort", aborted);
  return { wait, cancel: () => done("idle") };
}

export function auditService(audit: AuditLog, keepaliveMs = KEEPALIVE_MS): ServiceImpl<typeof AuditService> {
  return {
    async listEvents(req) {
      if (req.limit < 0 || req.offset < 0) throw new ConnectError("limit and offset must not be negative", Code.InvalidArgument);
      const events = await audit.list({
        type: req.type || undefined,
        actor: req.actor || undefined,
        repository: req.repository || undefined,
        since: checkTime(req.since, "since"),
        until: checkTime(req.until, "until"),
        limit: req.limit || 50,
        offset: req.offset,
      });
      return { events: events.map(toProto) };
    },

    async *followEvents(req, ctx) {
      if (req.afterId < 0n) throw new ConnectError("after_id must not be negative", Code.InvalidArgument);
      const filter = { type: req.type || undefined, actor: req.actor || undefined, repository: req.repository || undefined };
      let after = req.afterId > 0n ? Number(req.afterId) : await audit.newestId();
      while (!ctx.signal.aborted) {
        // Listen before reading, so that a write in between is not missed.
        const next = nextWrite(audit, keepaliveMs, ctx.signal);
        const events = await audit.listAfter(after, filter);
        if (events.length > 0) {
          next.cancel();
          after = events[events.length - 1]!.id;
          yield { events: events.map(toProto) };
          continue;
        }
        if ((await next.wait) === "idle" && !ctx.signal.aborted) yield { events: [] };
      }
    },

    async recordAgentEvent(req, ctx) {
      // The agents' own accounts only: a person (even an admin) does not write what a node did.
      const caller = ctx.values.get(callerKey);
      if (caller && caller.accountType !== "system")
        throw new ConnectError(`${caller.username} may not record agent events (system accounts only: the agents' own)`, Code.PermissionDenied);
      let event: ReturnType<typeof agentAuditEvent>;
      try {
        event = agentAuditEvent({ ...req, exitCode: req.exitCode }, caller?.username ?? "");
      } catch (err) {
        if (err instanceof AgentEventError) throw new ConnectError(err.message, Code.InvalidArgument);
        throw err;
      }
      audit.record(event);
      // Answered once written: an agent that is told so may start the exec it reports.
      try {
        await audit.flush();
      } catch (err) {
        throw new ConnectError(`the audit log cannot be written: ${(err as Error).message}`, Code.Unavailable);
      }
      return {};
    },
  };
}
