// Upload sessions nobody has added to for `maxAgeMs` (a client that gave up) are removed
// with their files (on S3 their segment objects), on the maintenance timer, and so is upload
// data without a session that is as old. Each is re-checked under its session lock,
// so a chunk arriving at that moment is never cut off.
import type { Kysely } from "kysely";
import type { Logger } from "../../lib/log/logger.ts";
import type { KeyLock } from "../locks/types.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { BlobStore } from "../storage/blob-store.ts";

export interface StaleUploadDeps {
  db: Kysely<RegistryDatabase>;
  store: BlobStore;
  uploadLocks: KeyLock;
  log: Logger;
  now?: () => number;
}

export async function removeStaleUploads(d: StaleUploadDeps, maxAgeMs: number): Promise<number> {
  if (maxAgeMs <= 0) return 0;
  const before = new Date((d.now ?? Date.now)() - maxAgeMs).toISOString();
  const stale = await d.db.selectFrom("uploads").select("uuid").where("updated_at", "<", before).execute();
  let removed = 0;
  for (const { uuid } of stale) {
    await d.uploadLocks.run(uuid, async () => {
      const row = await d.db.selectFrom("uploads").select("updated_at").where("uuid", "=", uuid).executeTakeFirst();
      if (!row || row.updated_at >= before) return;
      await d.db.deleteFrom("uploads").where("uuid", "=", uuid).execute();
      await d.store.cancelUpload(uuid);
      removed++;
    });
  }
  // Data without a session, untouched as long (a single-request upload cut off by a crash; on
  // shared storage start-up cannot tell those from another replica's upload in progress).
  const sessions = new Set((await d.db.selectFrom("uploads").select("uuid").execute()).map((r) => r.uuid));
  let orphans = 0;
  for (const id of await d.store.listUploads(maxAgeMs)) {
    if (sessions.has(id)) continue;
    await d.uploadLocks.run(id, async () => {
      if (await d.db.selectFrom("uploads").select("uuid").where("uuid", "=", id).executeTakeFirst()) return;
      await d.store.cancelUpload(id);
      orphans++;
    });
  }
  if (removed || orphans) d.log.info({ removed, orphaned_data: orphans, older_than: before }, "removed stale upload sessions");
  return removed + orphans;
}
