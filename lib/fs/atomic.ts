// Writes that are either complete or absent: temp file in the same folder,
// fsync, rename, fsync the folder.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  let open = true;
  try {
    writeFileSync(fd, data); // loops over short writes, unlike a single writeSync
    fsyncSync(fd);
    // Closed exactly once: a second close could hit a descriptor another open has reused.
    // A failing close (NFS reports write-back errors there) fails the write.
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    if (open) attempt(() => closeSync(fd), err);
    attempt(() => unlinkSync(tmp), err);
    throw err;
  }
  fsyncDir(dirname(path));
}

/** Cleanup after a failure: its own error is kept on that failure (`suppressed`) instead of replacing it. */
function attempt(cleanup: () => void, failure: unknown): void {
  try {
    cleanup();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    if (failure instanceof Error) ((failure as Error & { suppressed?: unknown[] }).suppressed ??= []).push(err);
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsyncDir on libuv's thread pool: a server's event loop goes on while the disk flushes. A
 * folder's fsync waits for the file system's journal, which can take hundreds of
 * milliseconds while other processes (garbage collection's deletes) keep it busy.
 */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
