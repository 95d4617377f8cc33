// The audit log (seed 003 step 1.3). Events are buffered briefly and written
// in one transaction, so a busy pull path does not pay a database write per request.
import type { Insertable, Kysely } from "kysely";
import type { Logger } from "../../lib/log/logger.ts";
import type { RegistryDatabase } from "../db/schema.ts";

export const AUDIT_EVENT_TYPES = [
  "login_ok",
  "login_fail",
  "logout",
  "manifest_pushed",
  "manifest_pulled",
  "manifest_deleted",
  "tag_deleted",
  "blob_uploaded",
  "blob_deleted",
  "repo_deleted",
  "policy_deny",
  "policy_rule_created",
  "policy_rule_updated",
  "policy_rule_deleted",
  "gc_started",
  "gc_completed",
  "account_created",
  "account_updated",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEvent {
  type: AuditEventType;
  actor?: string;
  repository?: string;
  digest?: string;
  ip?: string;
  details?: Record<string, string>;
}

export interface AuditRecord extends AuditEvent {
  id: number;
  time: string;
}

export interface AuditFilter {
  type?: string;
  actor?: string;
  repository?: string;
  /** ISO 8601, inclusive. */
  since?: string;
  /** ISO 8601, exclusive. */
  until?: string;
  limit?: number;
  offset?: number;
}

type Row = Insertable<RegistryDatabase["audit_log"]>;

export class AuditLog {
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly log: Logger,
    private readonly flushMs = 200,
  ) {}

  record(e: AuditEvent): void {
    this.pending.push({
      event_time: new Date().toISOString(),
      event_type: e.type,
      actor_id: e.actor ?? null,
      repository: e.repository ?? null,
      digest: e.digest ?? null,
      ip_address: e.ip ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
    });
    if (this.pending.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Writes everything recorded so far. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.db.transaction().execute(async (trx) => {
          for (let i = 0; i < batch.length; i += 100) await trx.insertInto("audit_log").values(batch.slice(i, i + 100)).execute();
        });
      } catch (err) {
        this.log.error({ err, events: batch.length }, "audit events could not be written");
      }
    });
    return this.flushing;
  }

  async list(f: AuditFilter = {}): Promise<AuditRecord[]> {
    await this.flush();
    let q = this.db.selectFrom("audit_log").selectAll().orderBy("id", "desc");
    if (f.type) q = q.where("event_type", "=", f.type);
    if (f.actor) q = q.where("actor_id", "=", f.actor);
    if (f.repository) q = q.where("repository", "=", f.repository);
    if (f.since) q = q.where("event_time", ">=", f.since);
    if (f.until) q = q.where("event_time", "<", f.until);
    const rows = await q.limit(Math.min(Math.max(f.limit ?? 50, 1), 1000)).offset(Math.max(f.offset ?? 0, 0)).execute();
    return rows.map((r) => ({
      id: r.id,
      time: r.event_time,
      type: r.event_type as AuditEventType,
      ...(r.actor_id ? { actor: r.actor_id } : {}),
      ...(r.repository ? { repository: r.repository } : {}),
      ...(r.digest ? { digest: r.digest } : {}),
      ...(r.ip_address ? { ip: r.ip_address } : {}),
      ...(r.details ? { details: JSON.parse(r.details) as Record<string, string> } : {}),
    }));
  }
}
