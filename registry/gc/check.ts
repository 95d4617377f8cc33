// `mcr check` and AdminService.Check: the database's integrity check, then blob rows
// against blob files both ways (reconcile without changing anything), and with `verify`
// blobs read back and hashed against their digests (verify.ts).
import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import { integrityErrors } from "../db/backup.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { emptyCounts, type GarbageCollector, type GcResult } from "./collector.ts";
import { verifyBlobs, type BlobVerification, type VerifySample } from "./verify.ts";

export interface CheckResult {
  /** Integrity passed, every blob row has its file and every blob read back matched. Orphan files alone do not fail it. */
  ok: boolean;
  integrityErrors: string[];
  blobRows: number;
  orphanFiles: string[];
  missingFiles: string[];
  /** Present when blobs were read back (`verify`). */
  verification?: BlobVerification;
}

export interface CheckOptions {
  /** The blob store, to read blobs back from. */
  store: BlobStore;
  /** Blobs to read back and hash: a number chosen at random, or all; none when absent. */
  verify?: VerifySample;
}

/** `sqlite` null: PostgreSQL, whose integrity is its own business; rows and files are still compared. */
export async function checkRegistry(
  sqlite: SQLite.Database | null,
  db: Kysely<RegistryDatabase>,
  collector: GarbageCollector,
  o?: CheckOptions,
): Promise<CheckResult> {
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
  const verification = o?.verify !== undefined ? await verifyBlobs(db, o.store, o.verify) : undefined;
  return {
    ok: errors.length === 0 && r.missing.length === 0 && !verification?.corrupt.length,
    integrityErrors: errors,
    blobRows: rows,
    orphanFiles: r.orphans,
    missingFiles: r.missing,
    ...(verification ? { verification } : {}),
  };
}
