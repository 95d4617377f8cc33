// Who is using a registry's database: `<database>.lock` holds the pid of the mcr server
// or of the offline command (mcr gc, restore, check) that has it. A lock whose process is
// gone (kill -9, power loss) is stale and taken over. `mcr gc` and `mcr snapshot` read it
// to decide whether to ask the running server (over its local admin socket) or to work on
// the files themselves; the server refuses to start while an offline command holds it.
// The lock file itself is lib/process/instance-lock.ts, shared with mcp-agent.
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { acquireInstanceLock, LockHeldError, lockHolder as sharedLockHolder } from "../../lib/process/instance-lock.ts";

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
  constructor(
    readonly holder: LockHolder,
    readonly path: string,
  ) {
    super(
      holder.kind === "server"
        ? `mcr server (pid ${holder.pid}) is using this database (${path})`
        : `mcr ${holder.kind} (pid ${holder.pid}, since ${holder.startedAt}) is using this database (${path})`,
    );
  }
}

export const lockPath = (dbPath: string) => `${resolve(dbPath)}.lock`;

/** `<database>.sock`, or a path under the temp folder when that is too long for a socket. */
export function socketPath(dbPath: string): string {
  const path = `${resolve(dbPath)}.sock`;
  if (Buffer.byteLength(path) <= 100) return path;
  return join(tmpdir(), `mcr-${createHash("sha256").update(path).digest("hex").slice(0, 16)}.sock`);
}

/** The live holder of the database's lock, if any. */
export function lockHolder(dbPath: string): LockHolder | undefined {
  return sharedLockHolder(lockPath(dbPath)) as LockHolder | undefined;
}

export interface InstanceLock {
  holder: LockHolder;
  release(): void;
}

/** Takes the database's lock for this process, or throws LockedError naming its holder. */
export function acquireLock(dbPath: string, kind: LockKind, socket?: string): InstanceLock {
  const path = lockPath(dbPath);
  try {
    const lock = acquireInstanceLock(path, kind, socket ? { socket } : {});
    return { holder: lock.holder as LockHolder, release: lock.release };
  } catch (err) {
    if (err instanceof LockHeldError) throw new LockedError(err.holder as LockHolder, path);
    throw err;
  }
}
