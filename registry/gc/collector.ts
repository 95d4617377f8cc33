// Garbage collection (docs/gc.md). Phase 1 (mark.ts) removes rows in short batches, each
// while upload commits wait (a dry run in one transaction it rolls back); phase 2 removes
// each marked file under the digest's lock,
// after checking again that no row has come back for it (a re-upload during the sweep).
// Reconcile removes files that have no row (left by a crash between the phases) and
// reports rows whose file is missing.
import type { Kysely } from "kysely";
import type { Logger } from "../../lib/log/logger.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { BlobLocks } from "../locks/types.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { parseDigest } from "../storage/digest.ts";
import { blobRowExists, mark, markInBatches, type Exclusive, type MarkResult, type MarkedBlob, type RemovedManifest } from "./mark.ts";

export interface GcOptions {
  dryRun: boolean;
  /** Also collect manifests that no tag, index or kept subject reaches. */
  untagged: boolean;
  /** Also remove files without a row and report rows without a file. */
  reconcile: boolean;
  /** Blobs and manifests used (uploaded, mounted, checked, referenced, pushed) more recently are kept. */
  graceMs: number;
}

export type GcPhase = "marking" | "sweeping" | "reconciling" | "done" | "failed";

export interface GcCounts {
  phase: GcPhase;
  manifestsRemoved: number;
  blobsMarked: number;
  /** Bytes of the marked blobs: what the sweep frees (a dry run's estimate). */
  bytesMarked: number;
  blobsSwept: number;
  /** Marked blobs uploaded again during the sweep: their files stay. */
  blobsKept: number;
  bytesFreed: number;
  /** Files without a row (reconcile); removed unless dry run. */
  orphanFiles: number;
  orphanBytes: number;
  /** Rows whose file is missing (reconcile); reported, never changed. */
  missingFiles: number;
}

export interface GcResult extends GcCounts {
  manifests: RemovedManifest[];
  blobs: MarkedBlob[];
  orphans: string[];
  missing: string[];
}

/** Test hooks: run between the phases. */
export interface GcHooks {
  afterMark?(marked: MarkResult): Promise<void>;
}

export interface CollectorDeps {
  db: Kysely<RegistryDatabase>;
  store: BlobStore;
  locks: BlobLocks;
  log: Logger;
  hooks?: GcHooks;
  now?: () => number;
}

export const emptyCounts = (): GcCounts => ({
  phase: "marking",
  manifestsRemoved: 0,
  blobsMarked: 0,
  bytesMarked: 0,
  blobsSwept: 0,
  blobsKept: 0,
  bytesFreed: 0,
  orphanFiles: 0,
  orphanBytes: 0,
  missingFiles: 0,
});

/** How often progress is reported during the sweep and reconcile, at most. */
const REPORT_EVERY_MS = 200;

export class GarbageCollector {
  constructor(private readonly d: CollectorDeps) {}

  /**
   * One run. `report` gets the running totals after each phase and every 200 ms within
   * one. `signal` stops the sweep between files: what it leaves is found by reconcile.
   */
  async run(o: GcOptions, report: (c: GcCounts) => void = () => undefined, signal?: AbortSignal): Promise<GcResult> {
    const r: GcResult = { ...emptyCounts(), manifests: [], blobs: [], orphans: [], missing: [] };
    const cutoff = new Date((this.d.now ?? Date.now)() - o.graceMs).toISOString();
    report({ ...r });
    const exclusive: Exclusive = (fn) => this.d.locks.commits.exclusive(fn);
    const marked = o.dryRun
      ? await exclusive(() => mark(this.d.db, { cutoff, untagged: o.untagged, dryRun: true }))
      : await markInBatches(this.d.db, { cutoff, untagged: o.untagged, exclusive });
    r.manifests = marked.manifests;
    r.blobs = marked.blobs;
    r.manifestsRemoved = marked.manifests.length;
    r.blobsMarked = marked.blobs.length;
    r.bytesMarked = marked.blobs.reduce((n, b) => n + b.size, 0);
    this.d.log.info({ manifests: r.manifestsRemoved, blobs: r.blobsMarked, bytes: r.bytesMarked, dry_run: o.dryRun }, "gc: marked");
    r.phase = "sweeping";
    report(this.counts(r));
    await this.d.hooks?.afterMark?.(marked);
    if (!o.dryRun) await this.sweep(marked.blobs, r, report, signal);
    if (o.reconcile) {
      r.phase = "reconciling";
      report(this.counts(r));
      await this.reconcile(o.dryRun, r, report, signal);
    }
    r.phase = "done";
    report(this.counts(r));
    return r;
  }

  private counts(r: GcResult): GcCounts {
    const { manifests: _m, blobs: _b, orphans: _o, missing: _x, ...counts } = r;
    return counts;
  }

  private throttle(r: GcResult, report: (c: GcCounts) => void): () => void {
    let last = Date.now();
    return () => {
      if (Date.now() - last < REPORT_EVERY_MS) return;
      last = Date.now();
      report(this.counts(r));
    };
  }

  private async sweep(blobs: MarkedBlob[], r: GcResult, report: (c: GcCounts) => void, signal?: AbortSignal): Promise<void> {
    const tick = this.throttle(r, report);
    for (const b of blobs) {
      if (signal?.aborted) break;
      await this.d.locks.digests.run(b.digest, async () => {
        // An upload commit holds this lock from its rename until its row is written: a row
        // here means the blob was uploaded again since the mark, and the file is its bytes.
        if (await blobRowExists(this.d.db, b.digest)) {
          r.blobsKept++;
          return;
        }
        if (await this.d.store.delete(parseDigest(b.digest))) {
          r.blobsSwept++;
          r.bytesFreed += b.size;
        }
      });
      tick();
    }
    this.d.log.info({ swept: r.blobsSwept, kept: r.blobsKept, bytes_freed: r.bytesFreed }, "gc: swept");
  }

  /** Files without rows (removed unless `dryRun`) and rows without files (reported). */
  async reconcile(dryRun: boolean, r: GcResult, report: (c: GcCounts) => void = () => undefined, signal?: AbortSignal): Promise<void> {
    const tick = this.throttle(r, report);
    const rows = new Set((await this.d.db.selectFrom("blobs").select("digest").execute()).map((b) => b.digest));
    const seen = new Set<string>();
    for await (const digest of this.d.store.list()) {
      if (signal?.aborted) return;
      seen.add(digest.text);
      if (rows.has(digest.text)) continue;
      await this.d.locks.digests.run(digest.text, async () => {
        if (await blobRowExists(this.d.db, digest.text)) return; // committed since the listing
        const size = (await this.d.store.stat(digest)) ?? 0;
        if (!dryRun && !(await this.d.store.delete(digest))) return;
        r.orphanFiles++;
        r.orphanBytes += size;
        r.orphans.push(digest.text);
      });
      tick();
    }
    if (!dryRun) r.bytesFreed += r.orphanBytes;
    for (const digest of rows) {
      if (signal?.aborted) return;
      // Listed files are known to exist; the rest are checked again (a commit may have landed since).
      if (seen.has(digest) || (await this.d.store.stat(parseDigest(digest))) !== undefined) continue;
      if (!(await blobRowExists(this.d.db, digest))) continue;
      r.missingFiles++;
      r.missing.push(digest);
      tick();
    }
    if (r.orphanFiles || r.missingFiles)
      this.d.log.warn(
        { orphan_files: r.orphanFiles, orphan_bytes: r.orphanBytes, removed: !dryRun, missing_files: r.missingFiles },
        "gc: reconcile found differences between rows and files",
      );
  }
}
