// The audit log. Events are buffered briefly and written
// in one transaction, so a busy pull path does not pay a database write per request.
import type { Insertable, Kysely } from "kysely";
import type { Logger } from "../../lib/log/logger.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { LoginFailureTally, type LoginFailure, type LoginFailureOptions } from "./login-failures.ts";

import type { AuditEventType } from "./events.ts";
import type { AuditEvent } from "./events.ts";

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

export interface AuditLogOptions {
  /** How long events wait to be written together; default 200 ms. */
  flushMs?: number;
  /** Delay before retrying a failed write; doubles on each failure up to maxRetryMs (default 1 s, 60 s). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Events kept while writes fail; past this the oldest are dropped and counted in the log (default 10,000). */
  maxPending?: number;
  /** How failed logins are counted (registry/audit/login-failures.ts). */
  loginFailures?: LoginFailureOptions;
}

export class AuditLog {
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Consecutive failed writes; while non-zero a retry is scheduled and record() waits for it. */
  private failures = 0;
  /** Events dropped over maxPending since the last successful write. */
  private dropped = 0;
  private readonly flushMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly maxPending: number;
  /** Called after each successful write (audit followers). */
  private readonly writeListeners = new Set<() => void>();
  private readonly loginFailures: LoginFailureTally;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly log: Logger,
    opts: AuditLogOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 200;
    this.retryMs = opts.retryMs ?? 1000;
    this.maxRetryMs = opts.maxRetryMs ?? 60_000;
    this.maxPending = opts.maxPending ?? 10_000;
    this.loginFailures = new LoginFailureTally((e) => this.record(e), opts.loginFailures);
  }

  /** A failed login: written at once the first time in a window, its repeats counted (login-failures.ts). */
  loginFailed(f: LoginFailure): void {
    this.loginFailures.record(f);
  }

  /** At shutdown: writes the failed logins counted so far, then everything pending. */
  async close(): Promise<void> {
    this.loginFailures.endWindow();
    await this.flush();
  }

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
    this.bound();
    if (this.failures > 0) return; // the scheduled retry writes it
    if (this.pending.length >= 500) this.flushInBackground();
    else this.timer ??= setTimeout(() => this.flushInBackground(), this.flushMs);
  }

  /** Number of events recorded but not yet written. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Writes everything recorded so far. Rejects when the write fails; the events are
   * then kept (up to maxPending) and retried with backoff.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.flushing.then(() => this.write());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Timer-driven flushes: a failure is logged and retried by write() itself. */
  private flushInBackground(): void {
    this.flush().catch(() => undefined);
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < batch.length; i += 100)
          await trx
            .insertInto("audit_log")
            .values(batch.slice(i, i + 100))
            .execute();
      });
    } catch (err) {
      this.pending = batch.concat(this.pending); // oldest first, as recorded
      this.bound();
      this.failures++;
      const retryMs = Math.min(this.retryMs * 2 ** (this.failures - 1), this.maxRetryMs);
      this.log.error(
        { err, events: batch.length, pending: this.pending.length, dropped: this.dropped, attempt: this.failures, retry_ms: retryMs },
        "audit events could not be written; kept for a retry",
      );
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flushInBackground(), retryMs);
      this.timer.unref(); // a retry alone must not keep a stopping process alive
      throw err;
    }
    if (this.failures > 0 || this.dropped > 0)
      this.log.warn({ events: batch.length, failed_attempts: this.failures, dropped: this.dropped }, "audit events written after failed attempts");
    this.failures = 0;
    this.dropped = 0;
    for (const l of this.writeListeners) l();
  }

  /** Calls `listener` after each batch of events is written; returns the unsubscribe. */
  onWrite(listener: () => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /** The id of the newest event written (after writing what is pending); 0 when none. */
  async newestId(): Promise<number> {
    await this.flush();
    const row = await this.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.max("id").as("id"))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** Keeps at most maxPending events, dropping the oldest. */
  private bound(): void {
    const over = this.pending.length - this.maxPending;
    if (over <= 0) return;
    if (this.dropped === 0) this.log.error({ max_pending: this.maxPending }, "audit buffer full: dropping the oldest events until the database accepts writes");
    this.pending.splice(0, over);
    this.dropped += over;
  }

  /** Events with an id above `afterId` that match `f`, oldest first, at most `f.limit` (default 500). */
  async listAfter(afterId: number, f: AuditFilter = {}): Promise<AuditRecord[]> {
    return this.query(f, afterId);
  }

  async list(f: AuditFilter = {}): Promise<AuditRecord[]> {
    await this.flush();
    return this.query(f);
  }

  private async query(f: AuditFilter, afterId?: number): Promise<AuditRecord[]> {
    let q = this.db
      .selectFrom("audit_log")
      .selectAll()
      .orderBy("id", afterId === undefined ? "desc" : "asc");
    if (afterId !== undefined) q = q.where("id", ">", afterId);
    if (f.type) q = q.where("event_type", "=", f.type);
    if (f.actor) q = q.where("actor_id", "=", f.actor);
    if (f.repository) q = q.where("repository", "=", f.repository);
    if (f.since) q = q.where("event_time", ">=", f.since);
    if (f.until) q = q.where("event_time", "<", f.until);
    const rows = await q
      .limit(Math.min(Math.max(f.limit ?? (afterId === undefined ? 50 : 500), 1), 1000))
      .offset(Math.max(f.offset ?? 0, 0))
      .execute();
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

  /**
   * Deletes the oldest events past the newest `maxRows` and returns how many, in batches
   * as prune does: the table stays bounded by size as well as by age.
   */
  async pruneToMaxRows(maxRows: number, signal?: AbortSignal, batch = 5000): Promise<number> {
    const cut = await this.db.selectFrom("audit_log").select("id").orderBy("id", "desc").limit(1).offset(maxRows).executeTakeFirst();
    if (!cut) return 0;
    let total = 0;
    while (!signal?.aborted) {
      const res = await this.db
        .deleteFrom("audit_log")
        .where("id", "in", (eb) => eb.selectFrom("audit_log").select("id").where("id", "<=", cut.id).orderBy("id").limit(batch))
        .executeTakeFirst();
      const n = Number(res.numDeletedRows);
      total += n;
      if (n < batch) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  /**
   * Deletes events older than `before` (ISO 8601) and returns how many. A few thousand rows
   * per statement, so that the first prune of a large table never holds the write lock for
   * long; stops between batches once `signal` aborts (shutdown).
   */
  async prune(before: string, signal?: AbortSignal, batch = 5000): Promise<number> {
    let total = 0;
    while (!signal?.aborted) {
      const res = await this.db
        .deleteFrom("audit_log")
        .where("id", "in", (eb) => eb.selectFrom("audit_log").select("id").where("event_time", "<", before).limit(batch))
        .executeTakeFirst();
      const n = Number(res.numDeletedRows);
      total += n;
      if (n < batch) break;
      await new Promise((resolve) => setImmediate(resolve)); // requests get their turn between batches
    }
    return total;
  }
}
