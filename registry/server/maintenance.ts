// Periodic upkeep of mcr's database: expired tokens of the embedded identity service,
// expired pull tokens, audit events past `[audit] retention` (every manifest GET writes one,
// so without this the table grows for ever) or beyond the newest `[audit] max_rows`, and
// upload sessions idle past `[gc] stale_uploads`. One pass at start-up, then one per interval
// on an unref'd timer that shutdown stops; the clock and the interval are injectable for tests.
import type { Logger } from "../../lib/log/logger.ts";
import type { AuditLog } from "../audit/audit-log.ts";

export const DEFAULT_MAINTENANCE_INTERVAL_MS = 3_600_000;

export interface MaintenanceOptions {
  audit: AuditLog;
  /** The embedded identity service; null when tokens live elsewhere (external or disabled). */
  tokens: { pruneTokens(): Promise<number> } | null;
  /** mcr's pull tokens (registry/auth/pull-tokens.ts), kept whatever the identity service. */
  pullTokens?: { prune(): Promise<number> };
  /** Audit events older than this are deleted; 0 keeps them for ever. */
  auditRetentionMs: number;
  /** Only the newest this many audit events are kept; 0 = no cap. */
  auditMaxRows?: number;
  /** Removes upload sessions idle past `[gc] stale_uploads`; returns how many. */
  staleUploads?: () => Promise<number>;
  /** Forgets node certificates that expired over a day ago (registry/nodes/store.ts). */
  nodeCerts?: { pruneExpiredCerts(now: Date): Promise<number> };
  log: Logger;
  intervalMs?: number;
  now?: () => number;
}

export interface PruneResult {
  tokens: number;
  auditEvents: number;
  /** Expired pull tokens deleted; present when pullTokens is given. */
  pullTokens?: number;
  /** Present when staleUploads is given. */
  uploads?: number;
}

export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneResult | undefined> | undefined;
  private readonly stopping = new AbortController();
  private readonly now: () => number;

  constructor(private readonly o: MaintenanceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Starts the timer (not keeping the process alive) and the first pass. */
  start(): void {
    if (this.timer || this.stopping.signal.aborted) return;
    this.timer = setInterval(() => void this.run(), this.o.intervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS);
    this.timer.unref();
    void this.run();
  }

  /**
   * One pass; a pass still running is joined rather than doubled. Never rejects: a failure
   * is logged and the next interval tries again. Undefined once stopped.
   */
  run(): Promise<PruneResult | undefined> {
    if (this.stopping.signal.aborted) return Promise.resolve(undefined);
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress (which stops between batches). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await this.running;
  }

  private async pass(): Promise<PruneResult | undefined> {
    try {
      const tokens = this.o.tokens ? await this.o.tokens.pruneTokens() : 0;
      const pullTokens = this.o.pullTokens ? { pullTokens: await this.o.pullTokens.prune() } : {};
      const nodeCerts = this.o.nodeCerts ? await this.o.nodeCerts.pruneExpiredCerts(new Date(this.now())) : 0;
      if (nodeCerts) this.o.log.info({ node_certs: nodeCerts }, "forgot node certificates that expired over a day ago");
      let auditEvents = 0;
      if (this.o.auditRetentionMs > 0) {
        const before = new Date(this.now() - this.o.auditRetentionMs).toISOString();
        auditEvents = await this.o.audit.prune(before, this.stopping.signal);
      }
      const overMaxRows = this.o.auditMaxRows ? await this.o.audit.pruneToMaxRows(this.o.auditMaxRows, this.stopping.signal) : 0;
      if (overMaxRows) this.o.log.warn({ audit_events: overMaxRows, max_rows: this.o.auditMaxRows }, "deleted the oldest audit events beyond [audit] max_rows");
      auditEvents += overMaxRows;
      if (tokens || auditEvents || pullTokens.pullTokens)
        this.o.log.info({ tokens, pull_tokens: pullTokens.pullTokens, audit_events: auditEvents }, "pruned expired tokens and audit events past retention");
      if (!this.o.staleUploads || this.stopping.signal.aborted) return { tokens, auditEvents, ...pullTokens };
      return { tokens, auditEvents, ...pullTokens, uploads: await this.o.staleUploads() };
    } catch (err) {
      this.o.log.error({ err }, "database maintenance failed; retrying at the next interval");
      return undefined;
    }
  }
}
