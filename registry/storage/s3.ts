// BlobStore on an S3-compatible object store, shared by several mcr replicas.
//
// Blobs are objects at <prefix>blobs/<algorithm>/<2 hex>/<hex>. An upload is a run of
// segment objects <prefix>uploads/<id>/<start offset, 16 digits>, one per PATCH, so
// successive chunks may reach different replicas (the acknowledged offset is in the
// database) and no chunk has to meet S3's 5 MiB minimum part size. A failed chunk leaves no
// segment (a PUT is all or nothing); a segment left by a chunk whose offset was never
// recorded starts at an acknowledged offset and is overwritten or skipped. Commit walks the
// segments from 0, checks the digest (from the running hash when this replica saw every
// chunk, else by reading the segments back), and only then writes the blob's object:
// a server-side copy of a single segment, or the segments streamed into a multipart upload.
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Hash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
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
import { newHash, parseDigest, type Digest, type DigestAlgorithm } from "./digest.ts";
import { createS3Client, isNotFound, s3ErrorText, type S3Settings } from "./s3-client.ts";

type Sdk = typeof import("@aws-sdk/client-s3");

const UPLOAD_ID_RE = /^[a-f0-9-]{8,64}$/;
/** Largest object a single PUT or server-side copy may write. */
const MAX_SINGLE = 5 * 1024 ** 3;
const PART_SIZE = 8 * 1024 * 1024;
/** Running hashes kept at most (the oldest goes first; its upload is then read back at commit). */
const MAX_HASHES = 10_000;

interface Segment {
  start: number;
  size: number;
  key: string;
}

export class S3BlobStore implements BlobStore {
  readonly shared = true;
  /** Running hash of uploads whose every chunk passed through this replica. */
  private readonly hashes = new Map<string, { hash: Hash; size: number }>();

  private constructor(
    private readonly client: S3Client,
    private readonly sdk: Sdk,
    private readonly s: S3Settings,
  ) {}

  /** Connects and checks that the bucket can be reached, so a wrong setting fails at start-up. */
  static async open(s: S3Settings): Promise<S3BlobStore> {
    const sdk = await import("@aws-sdk/client-s3");
    const client = await createS3Client(s);
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: s.bucket }));
    } catch (err) {
      client.destroy();
      throw new Error(`storage: S3 bucket ${s.bucket}${s.endpoint ? ` at ${s.endpoint}` : ""} cannot be reached: ${s3ErrorText(err)}`);
    }
    return new S3BlobStore(client, sdk, s);
  }

  close(): void {
    this.client.destroy();
  }

  private blobKey(d: Digest): string {
    return `${this.s.prefix}blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`;
  }

  private uploadPrefix(id: string): string {
    if (!UPLOAD_ID_RE.test(id)) throw new UploadMissingError("invalid upload id");
    return `${this.s.prefix}uploads/${id}/`;
  }

  private async *listKeys(prefix: string): AsyncGenerator<{ key: string; size: number; modified: number }> {
    let token: string | undefined;
    do {
      const r = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.s.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) yield { key: o.Key!, size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  private async segments(id: string): Promise<Segment[]> {
    const prefix = this.uploadPrefix(id);
    const out: Segment[] = [];
    for await (const o of this.listKeys(prefix)) {
      const name = o.key.slice(prefix.length);
      if (/^\d{16}$/.test(name)) out.push({ start: Number(name), size: o.size, key: o.key });
    }
    return out;
  }

  /** The segments that make up bytes [0, size), in order, or UploadMissingError. */
  private async chain(id: string, size: number): Promise<Segment[]> {
    const byStart = new Map((await this.segments(id)).map((s) => [s.start, s]));
    const chain: Segment[] = [];
    for (let at = 0; at < size; ) {
      const s = byStart.get(at);
      if (!s || s.size === 0 || at + s.size > size) throw new UploadMissingError(`upload ${id} has no data for bytes from ${at} of ${size}`);
      chain.push(s);
      at += s.size;
    }
    return chain;
  }

  async startUpload(id: string): Promise<void> {
    this.uploadPrefix(id);
    this.hashes.set(id, { hash: newHash(), size: 0 });
  }

  async appendUpload(id: string, offset: number, source: Readable, options: AppendOptions = {}): Promise<number> {
    const key = `${this.uploadPrefix(id)}${String(offset).padStart(16, "0")}`;
    const maxBytes = options.maxBytes ?? 0;
    if (maxBytes > 0 && options.expectedLength !== undefined && offset + options.expectedLength > maxBytes) {
      throw new BlobTooLargeError(`blob of ${offset + options.expectedLength} bytes exceeds the limit of ${maxBytes} bytes`);
    }
    // Keep hashing only when this replica has seen every byte so far; otherwise commit reads back.
    const cached = this.hashes.get(id);
    const state = offset === 0 ? { hash: newHash(), size: 0 } : cached?.size === offset ? cached : undefined;
    this.hashes.delete(id);
    let written = 0;
    let failure: Error | undefined;
    // The HTTP client does not end its request when the body fails: abort it, or a short body
    // would leave the PUT waiting for bytes that never come.
    const abort = new AbortController();
    const fail = (err: Error) => {
      failure ??= err;
      abort.abort();
      return failure;
    };
    const expected = options.expectedLength;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        if (maxBytes > 0 && offset + written > maxBytes) return done(fail(new BlobTooLargeError(`blob exceeds the limit of ${maxBytes} bytes`)));
        if (expected !== undefined && written > expected) return done(fail(new BodyLengthError(`body is longer than the declared ${expected} bytes`)));
        state?.hash.update(chunk);
        done(null, chunk);
      },
      // A body that ends short must fail the PUT, not store a short segment.
      flush(done) {
        if (expected !== undefined && written !== expected) return done(fail(new BodyLengthError(`body carried ${written} bytes, ${expected} were declared`)));
        done();
      },
    });
    // pipeline() ends the request on a failure and the failure ends the PUT's body.
    const piped = pipeline(source, meter).then(
      () => undefined,
      (err: Error) => void fail(err),
    );
    try {
      if (expected !== undefined && expected <= MAX_SINGLE) {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.s.bucket, Key: key, Body: meter, ContentLength: expected }), {
          abortSignal: abort.signal,
        });
      } else {
        await this.multipartPut(key, meter, abort);
      }
      await piped;
      if (failure) throw failure;
    } catch (err) {
      const first = failure ?? err; // before destroy() adds its own "premature close"
      meter.destroy();
      await piped;
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.s.bucket, Key: key })).catch(() => undefined);
      throw first;
    }
    if (state) {
      state.size = offset + written;
      this.hashes.set(id, state);
      // Sessions abandoned here but cleaned up by another replica would otherwise stay for ever.
      if (this.hashes.size > MAX_HASHES) this.hashes.delete(this.hashes.keys().next().value!);
    }
    return offset + written;
  }

  private async multipartPut(key: string, body: Readable, abortController?: AbortController): Promise<void> {
    const { Upload } = await import("@aws-sdk/lib-storage");
    await new Upload({
      client: this.client,
      params: { Bucket: this.s.bucket, Key: key, Body: body },
      partSize: PART_SIZE,
      queueSize: 2,
      abortController,
    }).done();
  }

  private async hashOf(chain: Segment[], algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = newHash(algorithm);
    for (const s of chain) {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.s.bucket, Key: s.key }));
      for await (const chunk of r.Body as Readable) hash.update(chunk as Buffer);
    }
    return hash;
  }

  async commitUpload(id: string, size: number, expected: Digest): Promise<void> {
    const chain = await this.chain(id, size);
    const cached = this.hashes.get(id);
    const hash = cached && cached.size === size && expected.algorithm === "sha256" ? cached.hash.copy() : await this.hashOf(chain, expected.algorithm);
    const actual = `${expected.algorithm}:${hash.digest("hex")}`;
    if (actual !== expected.text) throw new DigestMismatchError(expected.text, actual);
    const key = this.blobKey(expected);
    if ((await this.stat(expected)) !== size) {
      if (chain.length === 0) {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.s.bucket, Key: key, Body: Buffer.alloc(0) }));
      } else if (chain.length === 1 && size <= MAX_SINGLE) {
        await this.client.send(new this.sdk.CopyObjectCommand({ Bucket: this.s.bucket, Key: key, CopySource: encodeURI(`${this.s.bucket}/${chain[0]!.key}`) }));
      } else {
        await this.multipartPut(key, Readable.from(this.concat(chain)));
      }
    }
    await this.removeUpload(id);
  }

  private async *concat(chain: Segment[]): AsyncGenerator<Buffer> {
    for (const s of chain) {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.s.bucket, Key: s.key }));
      for await (const chunk of r.Body as Readable) yield chunk as Buffer;
    }
  }

  private async removeUpload(id: string): Promise<void> {
    this.hashes.delete(id);
    const keys: string[] = [];
    for await (const o of this.listKeys(this.uploadPrefix(id))) keys.push(o.key);
    for (let i = 0; i < keys.length; i += 1000) {
      const r = await this.client.send(
        new this.sdk.DeleteObjectsCommand({ Bucket: this.s.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
      );
      // A multi-object delete answers 200 even when it removed nothing: each key it refused (a
      // bucket policy, object lock, throttling) is listed in the body instead.
      const refused = r.Errors ?? [];
      if (refused.length) {
        const e = refused[0]!;
        throw new Error(`storage: ${refused.length} object(s) of upload ${id} were not deleted: ${e.Key} ${e.Code ?? ""} ${e.Message ?? ""}`.trim());
      }
    }
  }

  /** Removes the segments, and aborts a chunk's multipart upload left by a replica that died mid-chunk. */
  async cancelUpload(id: string): Promise<void> {
    await this.removeUpload(id);
    try {
      const r = await this.client.send(new this.sdk.ListMultipartUploadsCommand({ Bucket: this.s.bucket, Prefix: this.uploadPrefix(id) }));
      for (const u of r.Uploads ?? []) {
        await this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.s.bucket, Key: u.Key!, UploadId: u.UploadId! }));
      }
    } catch {
      // Servers without ListMultipartUploads (s3rver): the bucket's lifecycle rule ends them (docs/scale-out.md).
    }
  }

  async listUploads(olderThanMs?: number): Promise<string[]> {
    const root = `${this.s.prefix}uploads/`;
    const newest = new Map<string, number>();
    for await (const o of this.listKeys(root)) {
      const id = o.key.slice(root.length).split("/")[0]!;
      if (UPLOAD_ID_RE.test(id)) newest.set(id, Math.max(newest.get(id) ?? 0, o.modified));
    }
    const before = olderThanMs === undefined ? Infinity : Date.now() - olderThanMs;
    return [...newest].filter(([, t]) => t < before).map(([id]) => id);
  }

  async stat(digest: Digest): Promise<number | undefined> {
    try {
      return (await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.s.bucket, Key: this.blobKey(digest) }))).ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.s.bucket, Key: this.blobKey(digest), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      return r.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BlobMissingError(`blob ${digest.text} is missing from storage`);
      throw err;
    }
  }

  /** A ranged GET, started before the response's headers so that a missing object is a clean 404. */
  async reader(digest: Digest, range?: ByteRange): Promise<BlobReader> {
    const body = await this.open(digest, range);
    return {
      async copyTo(out: Writable, r: ByteRange) {
        // Exactly the range's bytes, whatever the server sends (s3rver answers bytes=0-0 with the
        // whole object): more would corrupt a keep-alive connection. Resolves when the bytes are
        // sent or the client went away (the GET is then dropped); a short object ends the response early.
        const want = r.end - r.start + 1;
        let sent = 0;
        const exact = async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            const take = chunk.length > want - sent ? chunk.subarray(0, want - sent) : chunk;
            sent += take.length;
            if (take.length) yield take;
            if (sent >= want) return;
          }
          throw new Error(`the object store sent ${sent} of ${want} bytes`);
        };
        await pipeline(body, exact, out).catch(() => body.destroy());
      },
      async close() {
        body.destroy();
      },
    };
  }

  async redirectUrl(digest: Digest): Promise<string> {
    const { getSignedUrl } = await import("@aws-sdk/s3-request-presigner");
    return getSignedUrl(this.client, new this.sdk.GetObjectCommand({ Bucket: this.s.bucket, Key: this.blobKey(digest) }), {
      expiresIn: Math.max(1, Math.round(this.s.redirectTtlMs / 1000)),
    });
  }

  async delete(digest: Digest): Promise<boolean> {
    if ((await this.stat(digest)) === undefined) return false;
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.s.bucket, Key: this.blobKey(digest) }));
    return true;
  }

  async *list(): AsyncIterable<Digest> {
    const root = `${this.s.prefix}blobs/`;
    for await (const o of this.listKeys(root)) {
      const parts = o.key.slice(root.length).split("/");
      if (parts.length !== 3) continue;
      try {
        yield parseDigest(`${parts[0]}:${parts[2]}`);
      } catch {
        /* not a blob object */
      }
    }
  }
}
