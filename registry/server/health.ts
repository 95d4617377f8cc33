// The registry's readiness, for GET /v1/health and AdminService/Health: the database answers
// (a ping, every time) and the blob store answers (the bucket or the blob folder, probed at
// most every 2 s: registry/storage/health.ts). Either one failing makes the replica not ready,
// so a load balancer takes it out, and ready again as soon as both answer, without a restart.
import type { Logger } from "../../lib/log/logger.ts";
import type { Metadata } from "../db/metadata.ts";
import type { StorageHealth, StorageStatus } from "../storage/health.ts";

export interface HealthReport {
  ok: boolean;
  /** "ok" or "unavailable". */
  database: string;
  /** Absent where no store is checked (tests that serve only the admin API). */
  storage?: StorageStatus;
  /** What is wrong, for the caller: names the database, the bucket or the folder; no internals. */
  error?: string;
  /** The database's error, for the log and the RPC's cause. */
  cause?: unknown;
}

export async function checkHealth(meta: Pick<Metadata, "ping">, storage: Pick<StorageHealth, "check"> | undefined, log: Logger): Promise<HealthReport> {
  const [db, store] = await Promise.all([
    meta.ping().then(
      () => undefined,
      (err: unknown) => ({ err }),
    ),
    storage?.check(),
  ]);
  if (db) log.error({ err: db.err }, "health check failed: the database is not answering");
  const problems = [...(db ? ["database is not answering"] : []), ...(store && !store.ok ? [store.error!] : [])];
  return {
    ok: problems.length === 0,
    database: db ? "unavailable" : "ok",
    ...(store ? { storage: store } : {}),
    ...(problems.length ? { error: problems.join("; ") } : {}),
    ...(db ? { cause: db.err } : {}),
  };
}

/** The JSON body of GET /v1/health. */
export function healthJson(r: HealthReport): Record<string, unknown> {
  const storage = r.storage && {
    backend: r.storage.backend,
    location: r.storage.location,
    status: r.storage.ok ? "ok" : "unavailable",
    ...(r.storage.error ? { error: r.storage.error } : {}),
  };
  return {
    status: r.ok ? "ok" : "unavailable",
    ...(r.error ? { error: r.error } : {}),
    database: r.database,
    ...(storage ? { storage } : {}),
  };
}
