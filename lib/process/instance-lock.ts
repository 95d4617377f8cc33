// One process at a time on a database: a lock file beside it holds the JSON of the process
// that has it. The file appears whole (written under a temp name, then hard-linked into
// place, which fails when one exists), so a reader never sees half a holder. A lock whose
// process is gone (kill -9, power loss) is stale and taken over; so is one whose pid now
// belongs to another process (Linux: the kernel's start time of the pid is recorded and
// compared). mcr (registry/server/instance-lock.ts) and mcp-agent (agent/instance-lock.ts)
// use it.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

export interface LockHolder {
  pid: number;
  /** What holds it: "server", or an offline command's name. */
  kind: string;
  startedAt: string;
  /** The kernel's start time of `pid` (clock ticks after boot), when known. */
  startTicks?: number;
  /** mcr: the server's local admin socket. */
  socket?: string;
}

export class LockHeldError extends Error {
  override name = "LockHeldError";
  constructor(
    readonly holder: LockHolder,
    readonly path: string,
  ) {
    super(`${path} is held by pid ${holder.pid} (${holder.kind}, since ${holder.startedAt})`);
  }
}

export interface HeldLock {
  holder: LockHolder;
  /** Removes the lock file if it is still this process's. */
  release(): void;
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function alive(h: LockHolder): boolean {
  // Our own pid in a lock is an earlier life (a container's pid 1 after a restart).
  if (!Number.isInteger(h.pid) || h.pid <= 0 || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = h.startTicks === undefined ? undefined : startTicks(h.pid);
  return now === undefined || now === h.startTicks;
}

function read(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    return typeof h === "object" && h !== null && typeof h.pid === "number" ? h : undefined;
  } catch {
    return undefined;
  }
}

/** The live holder of the lock at `path`, if any. */
export function lockHolder(path: string): LockHolder | undefined {
  const h = read(path);
  return h && alive(h) ? h : undefined;
}

/** Moves a stale lock away; puts it back if what was moved is live (another process took the lock meanwhile). */
function clearStale(path: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = read(aside);
  if (moved && alive(moved)) {
    try {
      linkSync(aside, path);
    } catch {
      /* a third process has it now: the loop finds that one */
    }
  }
  unlinkSync(aside);
}

/** Takes the lock at `path` for this process, or throws LockHeldError naming its live holder. */
export function acquireInstanceLock(path: string, kind: string, extra: { socket?: string } = {}): HeldLock {
  const ticks = startTicks(process.pid);
  const holder: LockHolder = { pid: process.pid, kind, startedAt: new Date().toISOString(), ...(ticks === undefined ? {} : { startTicks: ticks }), ...extra };
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder) + "\n", { mode: 0o600, flag: "wx" });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 4) throw err;
      }
      const other = read(path);
      if (other && alive(other)) throw new LockHeldError(other, path);
      clearStale(path);
    }
  } finally {
    unlinkSync(tmp);
  }
  return {
    holder,
    release() {
      const now = read(path);
      if (now?.pid === holder.pid && now.startedAt === holder.startedAt) unlinkSync(path);
    },
  };
}
