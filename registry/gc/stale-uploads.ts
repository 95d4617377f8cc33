// Upload sessions nobody has added to for `maxAgeMs` (a client that gave up) are removed
// with their files, on the maintenance timer. Each is re-checked under its session lock,
// so a chunk arriving at that moment is never cut off.
import type { Kysely } from "kysely";
import type { Logger } from "../../lib/log/logger.ts";
import type { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { BlobStore } from "../storage/blob-store.ts";

export interface StaleUploadDeps {
  db: Kysely<RegistryDatabase>;
  store: BlobStore;
  uploadLocks: KeyedLock;
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
  if (removed) d.log.info({ removed, older_than: before }, "removed stale upload sessions");
  return removed;
}
