// Opens the registry's database as the config says: the SQLite file at [database] path
// (embedded default), or the PostgreSQL database at [database] url (replicas). Migrations
// run on open in both cases.
import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import { openPostgres, redactUrl } from "../../lib/db/postgres.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { RegistryConfig } from "../config.ts";
import type { DialectName } from "./dialect.ts";
import { registryMigrations } from "./migrations.ts";
import type { RegistryDatabase } from "./schema.ts";

export interface RegistryDb {
  db: Kysely<RegistryDatabase>;
  dialect: DialectName;
  /** The raw SQLite handle (snapshots, integrity checks); null on PostgreSQL. */
  sqlite: SQLite.Database | null;
  /** The file, or the URL without its password: for messages. */
  label: string;
  /** Stops what opening started beside the connection (the SQLite checkpoint worker); call before db.destroy(). */
  stopWorkers(): Promise<void>;
}

/** `server`: a long-running process, whose SQLite checkpoints run on a worker thread. */
export async function openRegistryDb(cfg: RegistryConfig["database"], log?: Logger, server = false): Promise<RegistryDb> {
  if (cfg.url) {
    const { db } = await openPostgres<RegistryDatabase>(cfg.url, registryMigrations, {
      max: cfg.pool_size,
      onError: (err) => log?.error({ err }, "database connection failed; the pool replaces it"),
    });
    return { db, dialect: "postgres", sqlite: null, label: redactUrl(cfg.url), stopWorkers: async () => undefined };
  }
  const background = server
    ? { onError: (message: string) => log?.error({ err: message }, "SQLite checkpoint worker failed; checkpoints run inside commits again") }
    : undefined;
  const { db, sqlite, checkpointer } = await openSqlite<RegistryDatabase>(cfg.path, registryMigrations, { backgroundCheckpoints: background });
  return { db, dialect: "sqlite", sqlite, label: cfg.path, stopWorkers: async () => checkpointer?.stop() };
}
