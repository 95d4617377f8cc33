// Opens a SQLite database for kysely with the platform's settings: file mode
// 0600, WAL, foreign keys, busy_timeout; then applies the given migrations.
import { closeSync, openSync } from "node:fs";
import SQLite from "better-sqlite3";
import { startCheckpointer, WAL_KEEP_BYTES, type Checkpointer } from "./checkpointer.ts";
import { Kysely, Migrator, SqliteDialect, type MigrationProvider } from "kysely";

export interface OpenedDatabase<DB> {
  db: Kysely<DB>;
  /** The raw handle, for online backups and pragmas kysely does not model. */
  sqlite: SQLite.Database;
  /** The checkpoint worker, when asked for; stop it before closing the database. */
  checkpointer?: Checkpointer;
}

export interface SqliteOptions {
  /**
   * Checkpoint on a worker thread instead of inside commits (lib/db/checkpointer.ts): for a
   * long-running server, whose event loop must not wait for the disk.
   */
  backgroundCheckpoints?: { onError(message: string): void };
}

export async function openSqlite<DB>(path: string, migrations: MigrationProvider, opts: SqliteOptions = {}): Promise<OpenedDatabase<DB>> {
  if (path !== ":memory:") closeSync(openSync(path, "a", 0o600)); // create with 0600 before SQLite does
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL"); // durable at each WAL checkpoint; safe against process crashes
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider: migrations }).migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    await db.destroy();
    throw new Error(`database ${path}: migration ${failed?.migrationName ?? ""} failed: ${(error as Error)?.message ?? "unknown error"}`);
  }
  if (!opts.backgroundCheckpoints || path === ":memory:") return { db, sqlite };
  const { onError } = opts.backgroundCheckpoints;
  sqlite.pragma("wal_autocheckpoint = 0");
  sqlite.pragma(`journal_size_limit = ${WAL_KEEP_BYTES}`);
  const checkpointer = startCheckpointer(path, {
    onError(message) {
      // The WAL must not grow without bound: SQLite checkpoints inside commits again.
      if (sqlite.open) sqlite.pragma("wal_autocheckpoint = 1000");
      onError(message);
    },
  });
  return { db, sqlite, checkpointer };
}
