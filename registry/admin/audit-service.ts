// AuditService: the audit log with filters and pagination.
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import type { AuditLog } from "../audit/audit-log.ts";

function checkTime(value: string, field: string): string | undefined {
  if (value === "") return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ConnectError(`${field} must be an RFC 3339 time, got ${JSON.stringify(value)}`, Code.InvalidArgument);
  return new Date(t).toISOString();
}

export function auditService(audit: AuditLog): ServiceImpl<typeof AuditService> {
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
      return {
        events: events.map((e) => ({
          id: BigInt(e.id),
          time: e.time,
          type: e.type,
          actor: e.actor ?? "",
          repository: e.repository ?? "",
          digest: e.digest ?? "",
          ip: e.ip ?? "",
          details: e.details ?? {},
        })),
      };
    },
  };
}
