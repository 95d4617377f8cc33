// The BlobStore contract, one suite for every store (the local folder and S3): what the
// registry relies on whichever holds its blobs. Each store's own test file runs it and adds
// what only that store has (file layout and restarts; replicas sharing a bucket, multipart,
// presigned URLs).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, test } from "node:test";
import {
  BlobMissingError,
  BlobTooLargeError,
  BodyLengthError,
  DigestMismatchError,
  UploadMissingError,
  type BlobStore,
} from "../../registry/storage/blob-store.ts";
import { parseDigest } from "../../registry/storage/digest.ts";

export const sha = (b: Buffer | string, alg: "sha256" | "sha512" = "sha256") => parseDigest(`${alg}:${createHash(alg).update(b).digest("hex")}`);

/** A stream that yields `data` and then fails, like a client that disconnects. */
export function failingStream(data: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(data);
      } else this.destroy(new Error("aborted"));
    },
  });
}

let idn = 0;
/** Upload ids unique across the whole test process (a shared bucket keeps other suites' uploads). */
export const newUploadId = () => `11111111-2222-4333-8444-${String(process.pid % 10000).padStart(4, "0")}${String(++idn).padStart(8, "0")}`;

export interface StoreUnderTest {
  /** Two instances over the same storage (two replicas, or a restarted mcr). */
  a: BlobStore;
  b: BlobStore;
  close(): Promise<void>;
}

async function commit(store: BlobStore, data: string): Promise<void> {
  const id = newUploadId();
  await store.startUpload(id);
  await store.commitUpload(id, await store.appendUpload(id, 0, Readable.from([Buffer.from(data)])), sha(data));
}

export function blobStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let s: StoreUnderTest;
    before(async () => (s = await open()));
    after(() => s?.close());

    test("chunks become a content-addressed blob; stat, whole reads, ranges and the reader agree; the upload goes", async () => {
      const id = newUploadId();
      await s.a.startUpload(id);
      let size = await s.a.appendUpload(id, 0, Readable.from([Buffer.from("hello ")]));
      size = await s.a.appendUpload(id, size, Readable.from([Buffer.from("world")]), { expectedLength: 5 });
      const d = sha("hello world");
      await s.a.commitUpload(id, size, d);
      assert.equal(await s.b.stat(d), 11);
      assert.equal(await text(await s.b.open(d)), "hello world");
      assert.equal(await text(await s.b.open(d, { start: 6, end: 10 })), "world");
      const chunks: Buffer[] = [];
      const out = new Writable({ write: (c, _e, cb) => (chunks.push(c as Buffer), cb()) });
      await (await s.b.reader(d, { start: 0, end: 4 })).copyTo(out, { start: 0, end: 4 });
      assert.equal(Buffer.concat(chunks).toString(), "hello");
      assert.ok(!(await s.a.listUploads()).includes(id));
    });

    test("a digest mismatch keeps the upload and makes no blob; sha512 digests are checked too", async () => {
      const id = newUploadId();
      await s.a.startUpload(id);
      const size = await s.a.appendUpload(id, 0, Readable.from([Buffer.from("abc")]));
      await assert.rejects(s.a.commitUpload(id, size, sha("abd")), DigestMismatchError);
      assert.equal(await s.a.stat(sha("abd")), undefined);
      assert.ok((await s.a.listUploads()).includes(id));
      await s.a.commitUpload(id, size, sha("abc", "sha512"));
      assert.equal(await s.a.stat(sha("abc", "sha512")), 3);
    });

    test("a chunk that fails (client gone, too large, short or long body) leaves the upload at its acknowledged offset", async () => {
      const id = newUploadId();
      await s.a.startUpload(id);
      const size = await s.a.appendUpload(id, 0, Readable.from([Buffer.from("keep")]));
      await assert.rejects(s.a.appendUpload(id, size, failingStream(Buffer.from("lost"))), /aborted/);
      await assert.rejects(s.a.appendUpload(id, size, Readable.from([randomBytes(100)]), { maxBytes: 50 }), BlobTooLargeError);
      await assert.rejects(s.a.appendUpload(id, size, Readable.from([Buffer.from("ab")]), { expectedLength: 5 }), BodyLengthError);
      await assert.rejects(s.a.appendUpload(id, size, Readable.from([Buffer.from("abcdef")]), { expectedLength: 5 }), BodyLengthError);
      const more = await s.b.appendUpload(id, size, Readable.from([Buffer.from("+more")]));
      await s.a.commitUpload(id, more, sha("keep+more"));
      assert.equal(await text(await s.a.open(sha("keep+more"))), "keep+more");
    });

    test("a declared length past the limit is refused without reading the body", async () => {
      const id = newUploadId();
      await s.a.startUpload(id);
      let pulled = false;
      const lazy = new Readable({
        read() {
          pulled = true;
          this.push(null);
        },
      });
      await assert.rejects(s.a.appendUpload(id, 0, lazy, { maxBytes: 50, expectedLength: 51 }), /51 bytes exceeds the limit of 50/);
      assert.equal(pulled, false);
    });

    test("a commit with bytes missing is UploadMissingError; cancel removes the upload, twice is fine", async () => {
      const id = newUploadId();
      await s.a.startUpload(id);
      await s.a.appendUpload(id, 0, Readable.from([Buffer.from("12345")]));
      await assert.rejects(s.a.commitUpload(id, 9, sha("123456789")), UploadMissingError);
      assert.ok(!(await s.a.listUploads(60_000)).includes(id), "a fresh upload is not old");
      assert.ok((await s.a.listUploads()).includes(id));
      await s.b.cancelUpload(id);
      await s.b.cancelUpload(id);
      assert.ok(!(await s.a.listUploads()).includes(id));
    });

    test("the same content committed twice is one blob in the listing", async () => {
      await commit(s.a, "same content");
      await commit(s.b, "same content");
      const listed: string[] = [];
      for await (const d of s.a.list()) listed.push(d.text);
      assert.equal(listed.filter((t) => t === sha("same content").text).length, 1);
    });

    test("missing blobs: stat undefined, open and reader throw BlobMissingError before any byte; delete says what it removed", async () => {
      const gone = sha(`gone ${name}`);
      assert.equal(await s.a.stat(gone), undefined);
      await assert.rejects(s.a.open(gone), BlobMissingError);
      await assert.rejects(s.a.reader(gone, { start: 0, end: 1 }), BlobMissingError);
      await commit(s.a, `bye ${name}`);
      assert.equal(await s.b.delete(sha(`bye ${name}`)), true);
      assert.equal(await s.b.delete(sha(`bye ${name}`)), false);
      assert.equal(await s.a.stat(sha(`bye ${name}`)), undefined);
    });
  });
}
