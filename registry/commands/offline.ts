// What the operator commands (gc, snapshot, restore, check) share: find out whether the
// registry is running (its instance lock), reach it over the local admin socket, or open
// its database and blob store directly while holding the lock.
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { openSqlite } from "../../lib/db/sqlite.ts";
import type { RegistryConfig } from "../config.ts";
import { loadRegistryConfig } from "../config.ts";
import { registryMigrations } from "../db/migrations.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { acquireLock, LockedError, lockHolder, lockPath, type LockKind } from "../server/instance-lock.ts";
import { localTransport } from "../server/local-admin.ts";
import { LocalBlobStore } from "../storage/local-fs.ts";

export interface Offline {
  cfg: RegistryConfig;
  db: Kysely<RegistryDatabase>;
  sqlite: SQLite.Database;
  store: LocalBlobStore;
  close(): Promise<void>;
}

/**
 * The running server's local admin socket, undefined when no server runs. Throws when an
 * offline command holds the database (its pid and kind in the message).
 */
export function runningServer(cfg: RegistryConfig): string | undefined {
  const holder = lockHolder(cfg.database.path);
  if (!holder) return undefined;
  if (holder.kind !== "server" || !holder.socket) throw new LockedError(holder, lockPath(cfg.database.path));
  return holder.socket;
}

export function serverClient<S extends DescService>(service: S, socket: string): Client<S> {
  return createClient(service, localTransport(socket));
}

/**
 * Opens a stopped registry's database and blob store, holding its instance lock (so the
 * server cannot start meanwhile). `migrate: false` opens the file as it is (mcr check on a
 * database that may be damaged).
 */
export async function openOffline(cfg: RegistryConfig, kind: LockKind, migrate = true): Promise<Offline> {
  const lock = acquireLock(cfg.database.path, kind);
  try {
    let db: Kysely<RegistryDatabase>;
    let sqlite: SQLite.Database;
    if (migrate) ({ db, sqlite } = await openSqlite<RegistryDatabase>(cfg.database.path, registryMigrations));
    else {
      sqlite = new SQLite(cfg.database.path, { fileMustExist: true });
      db = new Kysely<RegistryDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
    }
    const store = await LocalBlobStore.open(cfg.storage.layers_path, cfg.storage.uploads_path);
    return {
      cfg,
      db,
      sqlite,
      store,
      async close() {
        await db.destroy();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export { loadRegistryConfig };

export const formatBytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
};
