// Writes a request body into an upload file at a given offset. Incoming chunks (16 KiB TLS
// records, 64 KiB socket reads) are copied into a few reused buffers, each written with one
// pwrite on the thread pool while the next one fills; the body is paused while every buffer is
// being written, so an upload holds at most DEPTH × CHUNK bytes and allocates nothing per chunk.
//
// Every SYNC_EVERY bytes it starts an fdatasync in the background. The blob's commit must
// fdatasync the whole file before it renames it into place; started early, the disk writes the
// body while the rest of it arrives instead of all at once after the last byte
// (docs/performance.md: push).
import { fdatasync, write } from "node:fs";
import { finished, type Readable } from "node:stream";

const CHUNK = 256 * 1024;
const DEPTH = 4;
const SYNC_EVERY = 32 * 1024 * 1024;

/**
 * Writes `source` to `fd` from `position` on and resolves with the number of bytes it carried.
 * `check` sees every chunk before it is written and may throw to refuse the body; the source
 * is then destroyed. The promise settles only once no write is left in flight, so a caller that
 * cuts the file back after a failure never races a late write.
 */
export function writeBody(source: Readable, fd: number, position: number, check: (chunk: Buffer) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const free: Buffer[] = Array.from({ length: DEPTH }, () => Buffer.allocUnsafeSlow(CHUNK));
    let cur: Buffer | undefined = free.pop();
    let fill = 0;
    let pos = position;
    let total = 0;
    let writing = 0;
    let carry: Buffer | undefined; // the rest of a chunk, waiting for a free buffer
    let ended = false;
    let failed: Error | undefined;
    let settled = false;
    let unsynced = 0;
    let syncing = false;

    const settle = () => {
      if (settled || writing > 0 || syncing) return;
      if (failed) {
        settled = true;
        reject(failed);
      } else if (ended && carry === undefined) {
        if (fill > 0) return flush(); // settles from its callback
        settled = true;
        resolve(total);
      }
    };
    const fail = (err: Error) => {
      if (failed) return;
      failed = err;
      carry = undefined;
      source.off("data", onData);
      if (!source.destroyed) source.destroy(err);
      settle();
    };
    const put = (chunk: Buffer, from: number) => {
      let off = from;
      while (off < chunk.length) {
        if (cur === undefined) {
          carry = off === 0 ? chunk : chunk.subarray(off);
          source.pause();
          return;
        }
        const n = chunk.copy(cur, fill, off);
        fill += n;
        off += n;
        if (fill === cur.length) flush();
      }
    };
    const syncSoon = () => {
      if (syncing || failed || unsynced < SYNC_EVERY) return;
      syncing = true;
      unsynced = 0;
      fdatasync(fd, (err) => {
        syncing = false;
        if (err) fail(err);
        settle();
      });
    };
    function flush(): void {
      const buf = cur!;
      const len = fill;
      cur = free.pop();
      fill = 0;
      writeAll(fd, buf, len, pos, (err) => {
        writing--;
        free.push(buf);
        if (err) {
          fail(err);
          return;
        }
        unsynced += len;
        syncSoon();
        if (cur === undefined) cur = free.pop();
        if (carry !== undefined) {
          const rest = carry;
          carry = undefined;
          put(rest, 0);
          if (carry === undefined && !ended) source.resume();
        }
        settle();
      });
      writing++;
      pos += len;
    }
    function onData(chunk: Buffer): void {
      try {
        check(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      total += chunk.length;
      put(chunk, 0);
    }

    source.on("data", onData);
    finished(source, (err) => {
      if (err) return fail(err);
      ended = true;
      settle();
    });
  });
}

/** pwrite until all `len` bytes are written (a regular file may take fewer at a time). */
function writeAll(fd: number, buf: Buffer, len: number, at: number, done: (err: Error | null) => void, from = 0): void {
  write(fd, buf, from, len - from, at + from, (err, n) => {
    if (err) return done(err);
    if (n === 0) return done(new Error("the disk took no bytes"));
    if (from + n < len) return writeAll(fd, buf, len, at, done, from + n);
    done(null);
  });
}
