// What the operator commands (gc, snapshot, restore, check) share: find out whether the
// registry is running (its instance lock), reach it over the local admin socket, or open
// its database and blob store directly while holding the lock. On PostgreSQL there is no
// instance lock (replicas share the database): the commands work directly, holding the same
// advisory locks as the replicas (registry/locks/advisory.ts).
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import type { RegistryConfig } from "../config.ts";
import { loadRegistryConfig } from "../config.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { openRegistryDb } from "../db/open.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { advisoryLocks } from "../locks/advisory.ts";
import { localLocks } from "../locks/local.ts";
import type { RegistryLocks } from "../locks/types.ts";
import { acquireLock, LockedError, lockHolder, lockPath, type InstanceLock, type LockKind } from "../server/instance-lock.ts";
import { localTransport } from "../server/local-admin.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { openBlobStore } from "../storage/open.ts";

export interface Offline {
  cfg: RegistryConfig;
  db: Kysely<RegistryDatabase>;
  /** Null on PostgreSQL. */
  sqlite: SQLite.Database | null;
  store: BlobStore;
  /** In memory for a stopped embedded registry; advisory locks shared with the replicas on PostgreSQL. */
  locks: RegistryLocks;
  close(): Promise<void>;
}

/**
 * The running server's local admin socket, undefined when no server runs. Throws when an
 * offline command holds the database (its pid and kind in the message).
 */
export function runningServer(cfg: RegistryConfig): string | undefined {
  if (cfg.database.url) return undefined;
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
  const lock: InstanceLock | null = cfg.database.url ? null : acquireLock(cfg.database.path, kind);
  try {
    let db: Kysely<RegistryDatabase>;
    let sqlite: SQLite.Database | null;
    if (migrate || cfg.database.url) ({ db, sqlite } = await openRegistryDb(cfg.database));
    else {
      sqlite = new SQLite(cfg.database.path, { fileMustExist: true });
      db = new Kysely<RegistryDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
    }
    let store: BlobStore;
    try {
      store = await openBlobStore(cfg);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    const locks = cfg.database.url ? await advisoryLocks(cfg.database.url, silentLogger()) : localLocks();
    return {
      cfg,
      db,
      sqlite,
      store,
      locks,
      async close() {
        await locks.close();
        await db.destroy();
        store.close?.();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

export { loadRegistryConfig };
