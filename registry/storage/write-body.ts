// Writes a request body into an upload file at a given offset. Incoming chunks (16 KiB TLS
// records, 64 KiB socket reads) are copied into a few reused buffers; each full buffer is
// written with one pwrite on the thread pool, and handed to the hash worker, while the next one
// fills. The body is paused while every buffer is busy, so an upload holds at most
// DEPTH × CHUNK bytes and allocates nothing per chunk.
//
// Given a second descriptor opened with O_DIRECT, the buffers go to the disk without passing
// through the page cache: no copy into it, no newly allocated page per 4 KiB written (costly
// on a virtual machine), and nothing left for the commit's fdatasync but the metadata
// (docs/performance.md, push). Writes whose offset or length is not a multiple of ALIGN (the
// body's last bytes) and a filesystem that refuses direct I/O use the ordinary descriptor.
//
// Every SYNC_EVERY bytes written through the page cache it starts an fdatasync in the
// background, so the disk writes the body while the rest of it arrives. The blob's commit
// still syncs the whole file before renaming it into place.
import { fdatasync, write } from "node:fs";
import { finished, type Readable } from "node:stream";
import { AlignedBufferPool } from "./aligned-buffers.ts";
import type { OffThreadHash } from "./hash-worker.ts";

const CHUNK = 256 * 1024;
const DEPTH = 4;
const SYNC_EVERY = 32 * 1024 * 1024;
/** Direct writes start and end on multiples of this (4 KiB covers 512-byte and 4Kn disks). */
export const ALIGN = 4096;
// One upload's buffers per slab, and idle buffers for four uploads at most: a slab stays
// resident while any of its buffers is kept, so after a burst of uploads at most 16 slabs of
// 1 MiB stay behind (4 when the kept buffers share slabs, as they do without a burst).
const pool = new AlignedBufferPool(CHUNK, DEPTH, 4 * DEPTH);

export interface WriteBodyOptions {
  /** The same file opened with O_DIRECT; whole ALIGN-aligned blocks go through it. */
  directFd?: number;
  /** Fed every byte of the body in order, off this thread. */
  hash?: OffThreadHash;
}

/**
 * Writes `source` to `fd` from `position` on and resolves with the number of bytes it carried.
 * `check` sees every chunk before it is written and may throw to refuse the body; the source
 * is then destroyed. The promise settles only once no write or hash update is left in flight,
 * so a caller that cuts the file back after a failure never races a late write.
 */
export function writeBody(source: Readable, fd: number, position: number, check: (chunk: Buffer) => void, options: WriteBodyOptions = {}): Promise<number> {
  const { directFd, hash } = options;
  return new Promise<number>((resolve, reject) => {
    const owned: Buffer[] = Array.from({ length: DEPTH }, () => pool.take());
    const free = [...owned];
    let cur: Buffer | undefined = free.pop();
    let fill = 0;
    let direct = directFd !== undefined;
    // The first buffer ends where the file reaches a multiple of ALIGN, so the rest go direct.
    let limit = direct && position % ALIGN !== 0 ? CHUNK - (position % ALIGN) : CHUNK;
    let pos = position;
    let total = 0;
    let busy = 0; // writes and hash updates in flight
    let carry: Buffer | undefined; // the rest of a chunk, waiting for a free buffer
    let ended = false;
    let failed: Error | undefined;
    let settled = false;
    let unsynced = 0;
    let syncing = false;

    const settle = () => {
      if (settled || busy > 0 || syncing) return;
      if (failed) {
        settled = true;
        for (const b of owned) pool.give(b);
        reject(failed);
      } else if (ended && carry === undefined) {
        if (fill > 0) return flush(); // settles once that buffer is done
        settled = true;
        for (const b of owned) pool.give(b);
        resolve(total);
      }
    };
    const fail = (err: Error) => {
      if (failed) return;
      failed = err;
      carry = undefined;
      source.off("data", onData);
      if (!source.destroyed) source.destroy(err);
    };
    const put = (chunk: Buffer, from: number) => {
      let off = from;
      while (off < chunk.length) {
        if (cur === undefined) {
          carry = off === 0 ? chunk : chunk.subarray(off);
          source.pause();
          return;
        }
        const n = chunk.copy(cur, fill, off, off + (limit - fill));
        fill += n;
        off += n;
        if (fill === limit) flush();
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
    /** The buffer is free again once its write and its hash update are both done. */
    const release = (buf: Buffer, parts: number) => {
      let left = parts;
      return (err: Error | null) => {
        busy--;
        if (err) fail(err);
        if (--left > 0) return settle();
        free.push(buf);
        if (!failed) {
          syncSoon();
          if (cur === undefined) cur = free.pop();
          if (carry !== undefined) {
            const rest = carry;
            carry = undefined;
            put(rest, 0);
            if (carry === undefined && !ended) source.resume();
          }
        }
        settle();
      };
    };
    function flush(): void {
      const buf = cur!;
      const len = fill;
      const at = pos;
      cur = free.pop();
      fill = 0;
      limit = CHUNK;
      pos += len;
      const done = release(buf, hash ? 2 : 1);
      busy += hash ? 2 : 1;
      if (hash) hash.update(buf.subarray(0, len)).then(() => done(null), done);
      const directLen = direct && at % ALIGN === 0 ? len - (len % ALIGN) : 0;
      const rest = (err: Error | null) => {
        if (err) return done(err);
        unsynced += len - directLen;
        writeAll(fd, buf, len, at, done, directLen);
      };
      if (directLen === 0) {
        rest(null);
        return;
      }
      writeAll(directFd!, buf, directLen, at, (err) => {
        // A filesystem or device that refuses this direct write: it and the rest of the
        // body go through the page cache instead.
        if ((err as NodeJS.ErrnoException | null)?.code === "EINVAL") {
          direct = false;
          unsynced += len;
          return writeAll(fd, buf, len, at, done);
        }
        rest(err);
      });
    }
    function onData(chunk: Buffer): void {
      try {
        check(chunk);
      } catch (err) {
        fail(err as Error);
        settle();
        return;
      }
      total += chunk.length;
      put(chunk, 0);
    }

    source.on("data", onData);
    finished(source, (err) => {
      if (err) fail(err);
      else ended = true;
      settle();
    });
  });
}

/** pwrite until bytes `from`..`len` of `buf` are written (a file may take fewer at a time). */
function writeAll(fd: number, buf: Buffer, len: number, at: number, done: (err: Error | null) => void, from = 0): void {
  if (from >= len) {
    done(null);
    return;
  }
  write(fd, buf, from, len - from, at + from, (err, n) => {
    if (err) return done(err);
    if (n === 0) return done(new Error("the disk took no bytes"));
    if (from + n < len) return writeAll(fd, buf, len, at, done, from + n);
    done(null);
  });
}
