// Who is using a registry's database: `<database>.lock` holds the pid of the mcr server
// or of the offline command (mcr gc, restore, check) that has it. A lock whose process is
// gone (kill -9, power loss) is stale and taken over. `mcr gc` and `mcr snapshot` read it
// to decide whether to ask the running server (over its local admin socket) or to work on
// the files themselves; the server refuses to start while an offline command holds it.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export type LockKind = "server" | "gc" | "restore" | "check" | "snapshot" | "migrate";

export interface LockHolder {
  pid: number;
  kind: LockKind;
  startedAt: string;
  /** The server's local admin socket. */
  socket?: string;
}

export class LockedError extends Error {
  override name = "LockedError";
  constructor(readonly holder: LockHolder, readonly path: string) {
    super(holder.kind === "server" ? `mcr server (pid ${holder.pid}) is using this database (${path})` : `mcr ${holder.kind} (pid ${holder.pid}, since ${holder.startedAt}) is using this database (${path})`);
  }
}

export const lockPath = (dbPath: string) => `${resolve(dbPath)}.lock`;

/** `<database>.sock`, or a path under the temp folder when that is too long for a socket. */
export function socketPath(dbPath: string): string {
  const path = `${resolve(dbPath)}.sock`;
  if (Buffer.byteLength(path) <= 100) return path;
  return join(tmpdir(), `mcr-${createHash("sha256").update(path).digest("hex").slice(0, 16)}.sock`);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false; // our own pid in a lock is an earlier life (a container's pid 1)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

/** The live holder of the database's lock, if any. */
export function lockHolder(dbPath: string): LockHolder | undefined {
  const h = read(lockPath(dbPath));
  return h && alive(h.pid) ? h : undefined;
}

export interface InstanceLock {
  holder: LockHolder;
  release(): void;
}

/** Takes the database's lock for this process, or throws LockedError naming its holder. */
export function acquireLock(dbPath: string, kind: LockKind, socket?: string): InstanceLock {
  const path = lockPath(dbPath);
  const holder: LockHolder = { pid: process.pid, kind, startedAt: new Date().toISOString(), ...(socket ? { socket } : {}) };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw err;
      const other = read(path);
      if (other && alive(other.pid)) throw new LockedError(other, path);
      try {
        unlinkSync(path); // stale: its process is gone
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(holder) + "\n");
    } finally {
      closeSync(fd);
    }
    return {
      holder,
      release() {
        if (read(path)?.pid === process.pid) unlinkSync(path);
      },
    };
  }
}
