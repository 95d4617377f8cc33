// The S3 blob store against a real S3-compatible server (s3rver in its own process): the
// BlobStore contract of local-fs.test.ts, plus what sharing a bucket needs — chunks of one
// upload through two store instances (two replicas), commit by a replica that saw none of
// the bytes, segment objects that never outlive a failed chunk, presigned URLs.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, test } from "node:test";
import { BlobMissingError, BlobTooLargeError, BodyLengthError, DigestMismatchError, UploadMissingError } from "../../../registry/storage/blob-store.ts";
import { parseDigest } from "../../../registry/storage/digest.ts";
import type { S3Settings } from "../../../registry/storage/s3-client.ts";
import { S3BlobStore } from "../../../registry/storage/s3.ts";
import { s3CredentialsText, startS3, type S3Server } from "../../helpers/s3.ts";

const sha = (b: Buffer | string, alg: "sha256" | "sha512" = "sha256") => parseDigest(`${alg}:${createHash(alg).update(b).digest("hex")}`);
let idn = 0;
const newId = () => `11111111-2222-4333-8444-${String(++idn).padStart(12, "0")}`;

function failingStream(data: Buffer): Readable {
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

async function collect(store: S3BlobStore, d: ReturnType<typeof sha>, range: { start: number; end: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c, _e, cb) {
      chunks.push(c as Buffer);
      cb();
    },
  });
  await (await store.reader(d, range)).copyTo(out, range);
  return Buffer.concat(chunks);
}

describe("S3BlobStore", () => {
  let s3: S3Server;
  let dir: string;
  let settings: S3Settings;
  let a: S3BlobStore;
  let b: S3BlobStore;
  before(async () => {
    s3 = await startS3();
    dir = mkdtempSync(join(tmpdir(), "s3store-"));
    writeFileSync(join(dir, "credentials"), s3CredentialsText(s3), { mode: 0o600 });
    settings = { endpoint: s3.endpoint, region: "us-east-1", bucket: s3.bucket, prefix: "reg/", pathStyle: true, credentialsFile: join(dir, "credentials"), redirect: false, redirectTtlMs: 60_000 };
    a = await S3BlobStore.open(settings);
    b = await S3BlobStore.open(settings);
  });
  after(async () => {
    a?.close();
    b?.close();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an upload in chunks becomes a content-addressed object; ranges read back; the segments go", async () => {
    const id = newId();
    await a.startUpload(id);
    let size = await a.appendUpload(id, 0, Readable.from([Buffer.from("hello ")]));
    size = await a.appendUpload(id, size, Readable.from([Buffer.from("world")]), { expectedLength: 5 });
    const d = sha("hello world");
    await a.commitUpload(id, size, d);
    assert.equal(await a.stat(d), 11);
    assert.equal(await text(await a.open(d)), "hello world");
    assert.equal(await text(await a.open(d, { start: 6, end: 10 })), "world");
    assert.equal((await collect(a, d, { start: 0, end: 4 })).toString(), "hello");
    assert.deepEqual(await a.listUploads(), []);
    const listed: string[] = [];
    for await (const x of b.list()) listed.push(x.text);
    assert.ok(listed.includes(d.text));
  });

  test("chunks alternating between two replicas, committed by a third party that saw none of them", async () => {
    const id = newId();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await a.startUpload(id);
    let size = 0;
    const chunk = 700 * 1024; // far below S3's 5 MiB part minimum
    for (let i = 0; size < data.length; i++) {
      const part = data.subarray(size, size + chunk);
      size = await (i % 2 ? b : a).appendUpload(id, size, Readable.from([part]), { expectedLength: part.length });
    }
    const c = await S3BlobStore.open(settings);
    try {
      await assert.rejects(c.commitUpload(id, size, sha("not it")), DigestMismatchError);
      await c.commitUpload(id, size, sha(data));
    } finally {
      c.close();
    }
    assert.deepEqual(await text(await a.open(sha(data))), data.toString());
    assert.equal(await b.stat(sha(data)), data.length);
  });

  test("a digest mismatch keeps the upload and writes no blob; sha512 digests are checked too", async () => {
    const id = newId();
    await a.startUpload(id);
    const size = await a.appendUpload(id, 0, Readable.from([Buffer.from("abc")]));
    await assert.rejects(a.commitUpload(id, size, sha("abd")), DigestMismatchError);
    assert.equal(await a.stat(sha("abd")), undefined);
    assert.deepEqual(await a.listUploads(), [id]);
    await a.commitUpload(id, size, sha("abc", "sha512"));
    assert.equal(await a.stat(sha("abc", "sha512")), 3);
  });

  test("a chunk that fails (client gone, too large, short body) leaves the upload at its acknowledged offset", async () => {
    const id = newId();
    await a.startUpload(id);
    const size = await a.appendUpload(id, 0, Readable.from([Buffer.from("keep")]));
    await assert.rejects(a.appendUpload(id, size, failingStream(Buffer.from("lost"))), /aborted/);
    await assert.rejects(a.appendUpload(id, size, Readable.from([Buffer.alloc(20)]), { maxBytes: 10 }), BlobTooLargeError);
    await assert.rejects(a.appendUpload(id, size, Readable.from([Buffer.from("ab")]), { expectedLength: 5 }), BodyLengthError);
    await assert.rejects(a.appendUpload(id, size, Readable.from([Buffer.from("abcdef")]), { expectedLength: 5 }), BodyLengthError);
    const more = await b.appendUpload(id, size, Readable.from([Buffer.from("+more")]));
    await a.commitUpload(id, more, sha("keep+more"));
    assert.equal(await text(await a.open(sha("keep+more"))), "keep+more");
  });

  test("a commit with bytes missing is UploadMissingError; cancel removes the segments", async () => {
    const id = newId();
    await a.startUpload(id);
    await a.appendUpload(id, 0, Readable.from([Buffer.from("12345")]));
    await assert.rejects(a.commitUpload(id, 9, sha("123456789")), UploadMissingError);
    assert.deepEqual(await a.listUploads(60_000), [], "a fresh upload is not old");
    assert.deepEqual(await a.listUploads(), [id]);
    await b.cancelUpload(id);
    assert.deepEqual(await a.listUploads(), []);
  });

  test("missing blobs: stat undefined, open and reader throw BlobMissingError before any byte; delete reports what it removed", async () => {
    const gone = sha("gone");
    assert.equal(await a.stat(gone), undefined);
    await assert.rejects(a.open(gone), BlobMissingError);
    await assert.rejects(a.reader(gone, { start: 0, end: 1 }), BlobMissingError);
    const id = newId();
    await a.startUpload(id);
    await a.commitUpload(id, await a.appendUpload(id, 0, Readable.from([Buffer.from("bye")])), sha("bye"));
    assert.equal(await b.delete(sha("bye")), true);
    assert.equal(await b.delete(sha("bye")), false);
    assert.equal(await a.stat(sha("bye")), undefined);
  });

  test("a large upload whose body length is unknown goes up in parts and assembles into one object", async () => {
    const id = newId();
    const data = randomBytes(9 * 1024 * 1024);
    await a.startUpload(id);
    const first = await a.appendUpload(id, 0, Readable.from([data.subarray(0, 6e6)])); // no expectedLength: multipart
    const size = await b.appendUpload(id, first, Readable.from([data.subarray(6e6)]));
    await a.commitUpload(id, size, sha(data));
    assert.equal(await a.stat(sha(data)), data.length);
    assert.deepEqual(await collect(b, sha(data), { start: 5e6, end: 7e6 - 1 }), data.subarray(5e6, 7e6));
  });

  test("a presigned URL serves the blob and its ranges without credentials", async () => {
    const id = newId();
    await a.startUpload(id);
    await a.commitUpload(id, await a.appendUpload(id, 0, Readable.from([Buffer.from("presigned bytes")])), sha("presigned bytes"));
    const url = await a.redirectUrl(sha("presigned bytes"));
    assert.match(url, /X-Amz-Signature=/);
    assert.equal(await (await fetch(url)).text(), "presigned bytes");
    const part = await fetch(url, { headers: { Range: "bytes=10-14" } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), "bytes");
  });

  test("a bucket that cannot be reached fails at open, naming it", async () => {
    await assert.rejects(S3BlobStore.open({ ...settings, bucket: "no-such-bucket" }), /no-such-bucket/);
  });
});
