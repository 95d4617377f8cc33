// The locks that keep pushes, uploads and garbage collection apart (docs/gc.md). One mcr
// on SQLite holds them in its own memory (local.ts); replicas sharing PostgreSQL hold them
// as PostgreSQL advisory locks (advisory.ts), so they exclude each other across processes.

/** One holder at a time per key. */
export interface KeyLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** Many holders of the shared side, or one of the exclusive side. */
export interface SharedLock {
  shared<T>(fn: () => Promise<T>): Promise<T>;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** At most one garbage collection in the whole registry. */
export interface RunLock {
  /** The release function, or undefined when a collection already runs somewhere. */
  tryAcquire(): Promise<(() => Promise<void>) | undefined>;
}

/** The locks garbage collection shares with pushes (docs/gc.md). */
export interface BlobLocks {
  /** Per digest: held by an upload commit from the rename until its row is written, and by GC around each file removal. */
  digests: KeyLock;
  /** Shared by upload commits and mounts; exclusive during GC's mark phase. */
  commits: SharedLock;
}

export interface RegistryLocks {
  /** Per upload session: its PATCH, PUT and DELETE requests, and the stale-upload cleaner. */
  uploads: KeyLock;
  /** Per digest: an upload commit from storing the blob until its row is written; GC around each removal. */
  digests: KeyLock;
  /** Shared by upload commits and mounts; exclusive during GC's mark phase. */
  commits: SharedLock;
  gcRun: RunLock;
  close(): Promise<void>;
}
