// BlobStore on the local filesystem. Blobs live at
// <layers>/<algorithm>/<first 2 hex>/<hex>; uploads at <uploads>/<id>, on the
// same filesystem so that commit is a rename: a blob appears whole or not at all.
import { constants, createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rmdir, stat, truncate, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fsyncDirAsync } from "../../lib/fs/atomic.ts";
import {
  BlobMissingError,
  BlobTooLargeError,
  BodyLengthError,
  DigestMismatchError,
  UploadMissingError,
  type AppendOptions,
  type BlobReader,
  type BlobStore,
  type ByteRange,
} from "./blob-store.ts";
import { copyFileRange } from "./copy-range.ts";
import { writeBody } from "./write-body.ts";
import { parseDigest, type Digest, type DigestAlgorithm } from "./digest.ts";
import { OffThreadHash } from "./hash-worker.ts";

const UPLOAD_ID_RE = /^[a-f0-9-]{8,64}$/;
/**
 * Read size for blob streams. Measured (bench/registry, docs/performance.md): 1 MiB reads gave
 * the best single-stream figure but grew RSS by 140-190 MiB under 32 concurrent pulls (large
 * buffers outlive young-generation GC); 256 KiB keeps the growth near zero at the same 8-stream
 * throughput, and more throughput at 32 streams.
 */
const READ_CHUNK = 256 * 1024;

/** Running hashes kept at most (the oldest goes first; its upload is then read back at commit). */
const MAX_HASHES = 10_000;

interface HashState {
  hash: OffThreadHash;
  size: number;
}

export interface LocalStoreOptions {
  /** Write upload bodies with O_DIRECT where the filesystem takes it (default true). */
  directWrites?: boolean;
}

export class LocalBlobStore implements BlobStore {
  readonly shared = false;
  /** Running SHA-256 of each upload, so finishing a multi-GiB upload does not re-read it. */
  private readonly hashes = new Map<string, HashState>();

  private constructor(
    private readonly layersPath: string,
    private readonly uploadsPath: string,
    private readonly directWrites: boolean,
  ) {}

  /** Creates the folders if needed and checks they share a filesystem (rename must be atomic). */
  static async open(layersPath: string, uploadsPath: string, options: LocalStoreOptions = {}): Promise<LocalBlobStore> {
    await mkdir(layersPath, { recursive: true, mode: 0o750 });
    await mkdir(uploadsPath, { recursive: true, mode: 0o750 });
    const [a, b] = await Promise.all([stat(layersPath), stat(uploadsPath)]);
    if (a.dev !== b.dev) {
      throw new Error(
        `storage: uploads_path ${uploadsPath} is not on the same filesystem as layers_path ${layersPath} (device ${b.dev} vs ${a.dev}); blobs could not be moved into place atomically`,
      );
    }
    return new LocalBlobStore(layersPath, uploadsPath, options.directWrites ?? true);
  }

  private uploadFile(id: string): string {
    if (!UPLOAD_ID_RE.test(id)) throw new UploadMissingError(`invalid upload id`);
    return join(this.uploadsPath, id);
  }

  private blobDir(d: Digest): string {
    return join(this.layersPath, d.algorithm, d.hex.slice(0, 2));
  }

  private blobFile(d: Digest): string {
    return join(this.blobDir(d), d.hex);
  }

  async startUpload(id: string): Promise<void> {
    const fh = await open(this.uploadFile(id), "wx", 0o640);
    await fh.close();
    this.remember(id, { hash: OffThreadHash.create("sha256"), size: 0 });
  }

  private remember(id: string, state: HashState): void {
    this.forget(id);
    this.hashes.set(id, state);
    // Sessions abandoned and never cancelled would otherwise stay for ever.
    if (this.hashes.size > MAX_HASHES) this.forget(this.hashes.keys().next().value!);
  }

  private forget(id: string): void {
    this.hashes.get(id)?.hash.dispose();
    this.hashes.delete(id);
  }

  /**
   * The upload's running SHA-256 at exactly `offset` bytes. Rebuilt from the file after a
   * restart, a failed request or the loss of the hash worker; bytes past `offset` (of a
   * request that never completed) are cut off first.
   */
  private async hashAt(id: string, offset: number): Promise<HashState> {
    const cached = this.hashes.get(id);
    if (cached && cached.size === offset && cached.hash.alive) return cached;
    const file = this.uploadFile(id);
    await this.trimTo(file, id, offset);
    const state = { hash: await hashOfFile(file, offset, "sha256"), size: offset };
    this.remember(id, state);
    return state;
  }

  /** Checks the upload file holds at least `offset` bytes and cuts it back to exactly that. */
  private async trimTo(file: string, id: string, offset: number): Promise<void> {
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new UploadMissingError(`upload ${id} has no data in storage`);
    if (size < offset) throw new UploadMissingError(`upload ${id} holds ${size} bytes but ${offset} were acknowledged`);
    if (size > offset) await truncate(file, offset);
  }

  /** The digest of the upload's first `size` bytes with an algorithm other than the running one. */
  private async fileDigest(id: string, size: number, expected: Digest): Promise<string> {
    const file = this.uploadFile(id);
    await this.trimTo(file, id, size);
    const hash = await hashOfFile(file, size, expected.algorithm);
    try {
      return await hash.digest();
    } finally {
      hash.dispose();
    }
  }

  async appendUpload(id: string, offset: number, source: Readable, options: AppendOptions = {}): Promise<number> {
    const file = this.uploadFile(id);
    const state = await this.hashAt(id, offset);
    const maxBytes = options.maxBytes ?? 0;
    // A declared length past the limit is refused before a byte reaches the disk.
    if (maxBytes > 0 && options.expectedLength !== undefined && offset + options.expectedLength > maxBytes) {
      throw new BlobTooLargeError(`blob of ${offset + options.expectedLength} bytes exceeds the limit of ${maxBytes} bytes`);
    }
    let written = 0;
    try {
      const fh = await open(file, "r+");
      // O_DIRECT is Linux's; a filesystem without it (tmpfs before Linux 6.6) refuses the open.
      const direct =
        this.directWrites && constants.O_DIRECT !== undefined ? await open(file, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined) : undefined;
      try {
        const check = (chunk: Buffer) => {
          const upTo = written + chunk.length;
          if (maxBytes > 0 && offset + upTo > maxBytes) throw new BlobTooLargeError(`blob exceeds the limit of ${maxBytes} bytes`);
          if (options.expectedLength !== undefined && upTo > options.expectedLength) {
            throw new BodyLengthError(`body is longer than the declared ${options.expectedLength} bytes`);
          }
          written = upTo;
        };
        written = await writeBody(source, fh.fd, offset, check, { directFd: direct?.fd, hash: state.hash });
      } finally {
        await direct?.close();
        await fh.close();
      }
      if (options.expectedLength !== undefined && written !== options.expectedLength) {
        throw new BodyLengthError(`body carried ${written} bytes, ${options.expectedLength} were declared`);
      }
    } catch (err) {
      // The hash has consumed bytes that are being discarded: drop it and cut the file back.
      this.forget(id);
      await truncate(file, offset).catch(() => undefined);
      throw err;
    }
    state.size = offset + written;
    return state.size;
  }

  async commitUpload(id: string, size: number, expected: Digest): Promise<void> {
    const file = this.uploadFile(id);
    const hex = expected.algorithm === "sha256" ? await (await this.hashAt(id, size)).hash.digest() : await this.fileDigest(id, size, expected);
    const actual = `${expected.algorithm}:${hex}`;
    if (actual !== expected.text) throw new DigestMismatchError(expected.text, actual);
    const fh = await open(file, "r");
    try {
      await fh.datasync(); // the bytes are on disk before the name points at them
    } finally {
      await fh.close();
    }
    const dir = this.blobDir(expected);
    for (let attempt = 1; ; attempt++) {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      try {
        await rename(file, this.blobFile(expected)); // same content if it already existed
        break;
      } catch (err) {
        // Garbage collection removes a prefix folder once it is empty (delete below): it may
        // do so between the mkdir and the rename. Make it again; the upload file is still there.
        if (
          (err as NodeJS.ErrnoException).code !== "ENOENT" ||
          attempt >= 5 ||
          !(await stat(file).then(
            () => true,
            () => false,
          ))
        )
          throw err;
      }
    }
    await fsyncDirAsync(dir); // the new name is on disk before the upload is answered
    this.forget(id);
  }

  async cancelUpload(id: string): Promise<void> {
    this.forget(id);
    await unlink(this.uploadFile(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  async listUploads(olderThanMs?: number): Promise<string[]> {
    const ids = (await readdir(this.uploadsPath)).filter((n) => UPLOAD_ID_RE.test(n));
    if (olderThanMs === undefined) return ids;
    const before = Date.now() - olderThanMs;
    const old = await Promise.all(
      ids.map((id) =>
        stat(join(this.uploadsPath, id)).then(
          (s) => s.mtimeMs < before,
          () => false,
        ),
      ),
    );
    return ids.filter((_, i) => old[i]);
  }

  async stat(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobFile(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    // Open first so a missing file is an error here, not mid-response.
    let fh: FileHandle;
    try {
      fh = await open(this.blobFile(digest), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobMissingError(`blob ${digest.text} is missing from storage`);
      throw err;
    }
    return fh.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK, autoClose: true });
  }

  async reader(digest: Digest): Promise<BlobReader> {
    let fh: FileHandle;
    try {
      fh = await open(this.blobFile(digest), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobMissingError(`blob ${digest.text} is missing from storage`);
      throw err;
    }
    return {
      copyTo: (out, range) => copyFileRange(fh, range, out).finally(() => fh.close().catch(() => undefined)),
      close: () => fh.close().catch(() => undefined),
    };
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await unlink(this.blobFile(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    await rmdir(this.blobDir(digest)).catch(() => undefined); // only succeeds when empty
    return true;
  }

  async *list(): AsyncIterable<Digest> {
    for (const algorithm of ["sha256", "sha512"]) {
      const root = join(this.layersPath, algorithm);
      const prefixes = await readdir(root).catch(() => [] as string[]);
      for (const prefix of prefixes.sort()) {
        for (const hex of (await readdir(join(root, prefix)).catch(() => [] as string[])).sort()) {
          try {
            yield parseDigest(`${algorithm}:${hex}`);
          } catch {
            /* not a blob file (editor backup, stray temp); ignore */
          }
        }
      }
    }
  }
}

/** A hash, on the worker, of the first `length` bytes of `file`. */
async function hashOfFile(file: string, length: number, algorithm: DigestAlgorithm): Promise<OffThreadHash> {
  const hash = OffThreadHash.create(algorithm);
  try {
    const inFlight: Promise<void>[] = [];
    if (length > 0) {
      for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: READ_CHUNK })) {
        const update = hash.update(chunk as Buffer);
        update.catch(() => undefined); // awaited below; a rejection left behind by a throw is not unhandled
        inFlight.push(update);
        if (inFlight.length >= 8) await inFlight.shift(); // a few chunks ahead of the worker, no more
      }
    }
    await Promise.all(inFlight);
  } catch (err) {
    hash.dispose();
    throw err;
  }
  return hash;
}
