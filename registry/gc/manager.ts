// The registry's one garbage collection at a time: starts runs in the background, keeps
// the current run's running totals and the last result, and lets any number of
// watchers join at any point (each first gets the state as it is, then every change).
import { randomUUID } from "node:crypto";
import type { Logger } from "../../lib/log/logger.ts";
import { Channel } from "../../lib/sync/channel.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { RunLock } from "../locks/types.ts";
import { emptyCounts, type GarbageCollector, type GcCounts, type GcOptions, type GcResult } from "./collector.ts";

export interface GcRun extends GcCounts {
  id: string;
  options: GcOptions;
  /** Who started it: an account id, or "cli". */
  actor: string;
  startedAt: string;
  completedAt?: string;
  error?: string;
  /** Set once the run is over. */
  result?: GcResult;
}

export class GcBusyError extends Error {
  override name = "GcBusyError";
  /** `run` is undefined when the collection runs on another replica (or `mcr gc` elsewhere). */
  constructor(readonly run?: GcRun) {
    super(run ? `garbage collection ${run.id} is already running (started ${run.startedAt})` : "a garbage collection is already running on another replica");
  }
}

export class GcManager {
  private current: GcRun | undefined;
  private last: GcRun | undefined;
  private running: Promise<void> | undefined;
  private readonly watchers = new Set<Channel<GcRun>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly collector: GarbageCollector,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    /** One collection across replicas; without it, one in this process. */
    private readonly runLock?: RunLock,
  ) {}

  /** Starts a run once the registry-wide GC lock is had; GcBusyError while a run goes on here or elsewhere. */
  async begin(options: GcOptions, actor: string): Promise<GcRun> {
    if (this.current) throw new GcBusyError(this.current);
    const release = this.runLock ? await this.runLock.tryAcquire() : undefined;
    if (this.runLock && !release) throw new GcBusyError(this.current);
    try {
      return this.start(options, actor, release);
    } catch (err) {
      await release?.();
      throw err;
    }
  }

  /** Starts a run in this process; throws GcBusyError while one is running. `release` is called when it ends. */
  start(options: GcOptions, actor: string, release?: () => Promise<void>): GcRun {
    if (this.current) throw new GcBusyError(this.current);
    if (this.stopping.signal.aborted) throw new Error("the registry is shutting down");
    const run: GcRun = { ...emptyCounts(), id: randomUUID(), options, actor, startedAt: new Date().toISOString() };
    this.current = run;
    this.audit.record({
      type: "gc_started",
      actor,
      details: {
        id: run.id,
        dry_run: String(options.dryRun),
        untagged: String(options.untagged),
        reconcile: String(options.reconcile),
        grace_ms: String(options.graceMs),
      },
    });
    this.log.info({ id: run.id, ...options }, "gc: started");
    this.running = this.collector
      .run(options, (c) => this.update(run, c), this.stopping.signal)
      .then(
        (result) => ({ result }),
        (err: Error) => ({ err }),
      )
      .then(async (o) => {
        // Released before the run is reported over, so a client that starts the next run
        // as soon as it sees this one end is not told that one is still running.
        await release?.().catch((err: Error) => this.log.warn({ err }, "gc: could not release the GC lock"));
        if ("result" in o) {
          const { manifests: _m, blobs: _b, orphans: _o, missing: _x, ...counts } = o.result;
          this.finish(run, { ...counts, result: o.result });
        } else {
          this.log.error({ err: o.err, id: run.id }, "gc: failed");
          this.finish(run, { phase: "failed", error: o.err.message });
        }
      });
    return { ...run };
  }

  /** The run in progress, and the last one that ended. */
  status(): { current?: GcRun; last?: GcRun } {
    return { current: this.current && { ...this.current }, last: this.last && { ...this.last } };
  }

  /**
   * The current run's state now and at each change, until it ends; with no run in progress,
   * the last one (if any) and the end. `signal` ends the watch early (client gone).
   */
  async *watch(signal?: AbortSignal): AsyncGenerator<GcRun> {
    const run = this.current;
    if (!run) {
      if (this.last) yield { ...this.last };
      return;
    }
    const ch = new Channel<GcRun>();
    this.watchers.add(ch);
    const abort = () => ch.close();
    signal?.addEventListener("abort", abort);
    try {
      yield { ...run };
      for await (const state of ch) {
        yield state;
        if (state.completedAt) return;
      }
    } finally {
      signal?.removeEventListener("abort", abort);
      this.watchers.delete(ch);
    }
  }

  /** Waits for the run in progress, if any. */
  async idle(): Promise<void> {
    await this.running;
  }

  /** Stops a run at its next file (what it leaves, reconcile finds) and waits for it. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private update(run: GcRun, c: Partial<GcRun>): void {
    Object.assign(run, c);
    const state = { ...run };
    for (const w of this.watchers) w.push(state);
  }

  private finish(run: GcRun, c: Partial<GcRun>): void {
    this.current = undefined;
    this.running = undefined;
    this.update(run, { ...c, completedAt: new Date().toISOString() });
    this.last = { ...run };
    for (const w of this.watchers) w.close();
    this.audit.record({
      type: "gc_completed",
      actor: run.actor,
      details: {
        id: run.id,
        phase: run.phase,
        dry_run: String(run.options.dryRun),
        manifests_removed: String(run.manifestsRemoved),
        blobs_removed: String(run.blobsSwept),
        bytes_freed: String(run.bytesFreed),
        orphan_files: String(run.orphanFiles),
        missing_files: String(run.missingFiles),
        ...(run.error ? { error: run.error } : {}),
      },
    });
    this.log.info(
      {
        id: run.id,
        phase: run.phase,
        manifests: run.manifestsRemoved,
        swept: run.blobsSwept,
        kept: run.blobsKept,
        bytes_freed: run.bytesFreed,
        orphans: run.orphanFiles,
        missing: run.missingFiles,
      },
      "gc: completed",
    );
  }
}
