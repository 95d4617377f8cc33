// Opens a PostgreSQL database for kysely (a `pg` pool) and applies the given migrations.
// kysely's migrator takes a PostgreSQL advisory lock, so replicas starting together migrate
// once. 64-bit integers and numerics (ids, sizes, counts, sums) come back as JavaScript
// numbers, as SQLite gives them, instead of pg's strings: values stay below 2^53.
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from "kysely";

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** An idle connection failed (database restarted, network): logged, the pool replaces it. */
  onError?: (err: Error) => void;
}

export interface OpenedPostgres<DB> {
  db: Kysely<DB>;
}

const INT8 = 20;
const NUMERIC = 1700;

/** `postgres://user:password@host/db` without the password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

export async function openPostgres<DB>(url: string, migrations: MigrationProvider, o: PostgresOptions = {}): Promise<OpenedPostgres<DB>> {
  const pg = (await import("pg")).default; // loaded only when PostgreSQL is configured
  const types = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString: url, max: o.max ?? 10, types, connectionTimeoutMillis: 10_000 });
  pool.on("error", (err) => o.onError?.(err));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  try {
    const { error, results } = await new Migrator({ db, provider: migrations }).migrateToLatest();
    const failed = results?.find((r) => r.status === "Error");
    if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ""} failed: ${(error as Error)?.message ?? "unknown error"}`);
  } catch (err) {
    await db.destroy();
    throw new Error(`database ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return { db };
}
