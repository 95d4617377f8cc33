// Sends a byte range of an open file to a writable (an HTTP response) through a
// few reused buffers: a buffer is read into again only after its previous write
// has completed, so a download allocates nothing per chunk and holds at most
// DEPTH × CHUNK bytes. Measured against a stream of fresh 1 MiB chunks it keeps
// RSS flat under 32 concurrent pulls and is faster (docs/performance.md).
import { read } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { ByteRange } from "./blob-store.ts";

const CHUNK = 256 * 1024;
const DEPTH = 4;

export function copyFileRange(fh: FileHandle, range: ByteRange, out: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const free = Array.from({ length: DEPTH }, () => Buffer.allocUnsafeSlow(CHUNK));
    let pos = range.start;
    let reading = false;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      out.off("drain", pump);
      out.off("close", onClose);
      out.off("finish", onFinish);
      if (err) out.destroy(err);
      resolve();
    };
    const onClose = () => finish();
    const onFinish = () => finish();
    function pump(): void {
      if (done || reading || pos > range.end || free.length === 0 || out.writableNeedDrain) return;
      const buf = free.pop()!;
      reading = true;
      read(fh.fd, buf, 0, Math.min(CHUNK, range.end - pos + 1), pos, (err, n) => {
        reading = false;
        if (done) return;
        if (err || n === 0) return finish(err ?? new Error("blob file is shorter than its recorded size"));
        pos += n;
        out.write(n === buf.length ? buf : buf.subarray(0, n), (werr) => {
          if (werr) return; // the close handler ends the copy
          free.push(buf);
          pump();
        });
        if (pos > range.end) out.end();
        else pump();
      });
    }
    out.once("close", onClose);
    out.once("finish", onFinish);
    out.on("drain", pump);
    pump();
  });
}
