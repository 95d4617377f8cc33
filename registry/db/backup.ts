// Database snapshots and restores (docs/runbook.md). A snapshot is SQLite's online backup
// through the open connection: a consistent copy even while the registry writes. A
// restore replaces the database file of a stopped registry, keeping the current one as
// <database>.pre-restore.
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { fsyncDir } from "../../lib/fs/atomic.ts";

export interface SnapshotInfo {
  path: string;
  size: number;
  createdAt: string;
}

/** <database folder>/backups: where `mcr snapshot` writes. */
export function backupsDir(dbPath: string): string {
  return join(dirname(resolve(dbPath)), "backups");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** mcr-YYYYMMDD-HHMMSS.db, in UTC. */
export function snapshotName(t: Date): string {
  return `mcr-${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}-${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}${pad(t.getUTCSeconds())}.db`;
}

/** Creates `dir/name` (0600) without overwriting; a name taken this second gets -2, -3, ... */
function newFile(dir: string, name: string): string {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? name : name.replace(/\.db$/, `-${n}.db`));
    try {
      closeSync(openSync(path, "wx", 0o600));
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) throw err;
    }
  }
}

/** Writes a consistent copy of the open database `sqlite` (file `dbPath`) into backups/. */
export async function snapshot(sqlite: SQLite.Database, dbPath: string, now = new Date()): Promise<SnapshotInfo> {
  const dir = backupsDir(dbPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = newFile(dir, snapshotName(now));
  try {
    await sqlite.backup(path);
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(dir);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return { path, size: statSync(path).size, createdAt: now.toISOString() };
}

/** Problems PRAGMA integrity_check and foreign_key_check report; empty when there are none. */
export function integrityErrors(sqlite: SQLite.Database): string[] {
  try {
    return checkIntegrity(sqlite);
  } catch (err) {
    return [(err as Error).message]; // "file is not a database", "database disk image is malformed"
  }
}

function checkIntegrity(sqlite: SQLite.Database): string[] {
  const integrity = (sqlite.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).filter((m) => m !== "ok");
  const fk = (sqlite.pragma("foreign_key_check") as { table: string; rowid: number; parent: string }[]).map(
    (r) => `${r.table} row ${r.rowid} refers to a missing ${r.parent} row`,
  );
  return [...integrity, ...fk];
}

export interface RestoreResult {
  restored: string;
  /** The database as it was, or undefined when there was none. */
  preRestore?: string;
}

/**
 * Replaces `dbPath` by `file` (a snapshot). The registry must be stopped (the caller holds
 * the instance lock). The snapshot must pass the integrity check and be mcr's; the current
 * database is copied (online backup, WAL included) to <dbPath>.pre-restore first.
 */
export async function restore(dbPath: string, file: string): Promise<RestoreResult> {
  const source = resolve(file);
  if (!existsSync(source)) throw new Error(`${file}: no such file`);
  let snap: SQLite.Database;
  try {
    snap = new SQLite(source, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`${file} cannot be opened as an SQLite database: ${(err as Error).message}`);
  }
  try {
    const problems = integrityErrors(snap);
    if (problems.length) throw new Error(`${file} fails the integrity check: ${problems.slice(0, 5).join("; ")}`);
    const tables = new Set((snap.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((r) => r.name));
    for (const t of ["blobs", "manifests", "repositories", "accounts"]) if (!tables.has(t)) throw new Error(`${file} is not an mcr database (no ${t} table)`);
  } catch (err) {
    snap.close();
    if ((err as Error).message.startsWith(file)) throw err;
    throw new Error(`${file} cannot be read as an SQLite database: ${(err as Error).message}`);
  }
  snap.close();

  const target = resolve(dbPath);
  const owner = existsSync(target) ? statSync(target) : undefined;
  let preRestore: string | undefined;
  if (owner) {
    preRestore = `${target}.pre-restore`;
    rmSync(preRestore, { force: true });
    closeSync(openSync(preRestore, "wx", 0o600));
    const current = new SQLite(target, { fileMustExist: true });
    try {
      await current.backup(preRestore);
    } finally {
      current.close(); // checkpoints and removes the WAL
    }
  }
  const tmp = join(dirname(target), `.${basename(target)}.restore-${process.pid}`);
  copyFileSync(source, tmp);
  chmodSync(tmp, 0o600);
  const fd = openSync(tmp, "r+", 0o600);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
  for (const side of ["-wal", "-shm"]) rmSync(`${target}${side}`, { force: true });
  renameSync(tmp, target);
  fsyncDir(dirname(target));
  return { restored: target, preRestore };
}
