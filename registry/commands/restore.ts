// `mcr restore FILE`: puts a snapshot in place of the database of a stopped registry,
// keeping the current one as <database>.pre-restore. Blob files are not touched.
import { restore, type RestoreResult } from "../db/backup.ts";
import { acquireLock, LockedError } from "../server/instance-lock.ts";
import { loadRegistryConfig } from "./offline.ts";

export async function restoreCommand(o: { config: string; file: string }): Promise<RestoreResult> {
  const cfg = loadRegistryConfig(o.config);
  if (cfg.database.url) throw new Error("mcr restore puts back an SQLite snapshot; restore PostgreSQL with pg_restore (docs/scale-out.md)");
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(cfg.database.path, "restore");
  } catch (err) {
    if (err instanceof LockedError && err.holder.kind === "server") throw new Error(`${err.message}: stop it first (systemctl stop mcr), then restore`);
    throw err;
  }
  try {
    return await restore(cfg.database.path, o.file);
  } finally {
    lock.release();
  }
}
