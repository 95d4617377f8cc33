// `mcr check` and AdminService.Check: the database's integrity check, then blob rows
// against blob files both ways (reconcile without changing anything).
import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import { integrityErrors } from "../db/backup.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { emptyCounts, type GarbageCollector, type GcResult } from "./collector.ts";

export interface CheckResult {
  /** Integrity passed and every blob row has its file. Orphan files alone do not fail it. */
  ok: boolean;
  integrityErrors: string[];
  blobRows: number;
  orphanFiles: string[];
  missingFiles: string[];
}

/** `sqlite` null: PostgreSQL, whose integrity is its own business; rows and files are still compared. */
export async function checkRegistry(sqlite: SQLite.Database | null, db: Kysely<RegistryDatabase>, collector: GarbageCollector): Promise<CheckResult> {
  const errors = sqlite ? integrityErrors(sqlite) : [];
  const rows = Number(
    (
      await db
        .selectFrom("blobs")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const r: GcResult = { ...emptyCounts(), manifests: [], blobs: [], orphans: [], missing: [] };
  await collector.reconcile(true, r);
  return { ok: errors.length === 0 && r.missing.length === 0, integrityErrors: errors, blobRows: rows, orphanFiles: r.orphans, missingFiles: r.missing };
}
