// The storage interface: the only thing in the registry that knows where bytes
// live. The local filesystem (local-fs.ts) implements it for one mcr, an S3-compatible
// object store (s3.ts) for several replicas sharing one bucket.
import type { Readable, Writable } from "node:stream";
import type { Digest } from "./digest.ts";

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface AppendOptions {
  /** The upload may not grow beyond this many bytes in all (0 = no limit). */
  maxBytes?: number;
  /** The body must carry exactly this many bytes. */
  expectedLength?: number;
}

export interface BlobStore {
  /**
   * Several mcr processes use this storage at once (S3): none may treat another's upload in
   * progress as an orphan at start-up; abandoned uploads are left to the stale-upload cleaner.
   */
  readonly shared: boolean;
  /** Creates an empty upload. */
  startUpload(id: string): Promise<void>;
  /**
   * Appends `source` to upload `id`, which has `offset` acknowledged bytes; returns the new size.
   * On any failure (client gone, too large, short body, disk full) the upload is cut back to `offset`.
   */
  appendUpload(id: string, offset: number, source: Readable, options?: AppendOptions): Promise<number>;
  /**
   * Checks that the first `size` bytes of upload `id` hash to `expected`, then makes them the blob `expected`.
   * Throws DigestMismatchError (the upload is kept) or UploadMissingError.
   */
  commitUpload(id: string, size: number, expected: Digest): Promise<void>;
  cancelUpload(id: string): Promise<void>;
  /** Ids of uploads present in storage; with `olderThanMs`, only those unchanged for that long (cleanup). */
  listUploads(olderThanMs?: number): Promise<string[]>;

  /** Size of a stored blob, or undefined. */
  stat(digest: Digest): Promise<number | undefined>;
  /** A stream of the blob's bytes, or of one range of them. */
  open(digest: Digest, range?: ByteRange): Promise<Readable>;
  /**
   * An open blob for serving downloads; throws BlobMissingError before anything is sent.
   * `range` is the part that will be copied (an object store asks for only that).
   */
  reader(digest: Digest, range?: ByteRange): Promise<BlobReader>;
  /** A short-lived URL the client may fetch the blob from itself (307), where the store offers one. */
  redirectUrl?(digest: Digest): Promise<string>;
  /** Releases connections; the store is not used afterwards. */
  close?(): void;
  delete(digest: Digest): Promise<boolean>;
  list(): AsyncIterable<Digest>;
}

export interface BlobReader {
  /**
   * Writes bytes `range` to `out` and ends it; resolves when done or when `out` closes early
   * (client gone). Closes the blob afterwards.
   */
  copyTo(out: Writable, range: ByteRange): Promise<void>;
  close(): Promise<void>;
}

export class DigestMismatchError extends Error {
  override name = "DigestMismatchError";
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content digest ${actual} does not match ${expected}`);
  }
}

export class UploadMissingError extends Error {
  override name = "UploadMissingError";
}

export class BlobTooLargeError extends Error {
  override name = "BlobTooLargeError";
}

export class BodyLengthError extends Error {
  override name = "BodyLengthError";
}

export class BlobMissingError extends Error {
  override name = "BlobMissingError";
}
