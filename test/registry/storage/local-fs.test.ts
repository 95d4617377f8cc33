import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, test } from "node:test";
import { BlobMissingError, BlobTooLargeError, BodyLengthError, DigestMismatchError, UploadMissingError } from "../../../registry/storage/blob-store.ts";
import { parseDigest } from "../../../registry/storage/digest.ts";
import { LocalBlobStore } from "../../../registry/storage/local-fs.ts";

const ID = "11111111-2222-4333-8444-555555555555";
const sha = (b: Buffer | string) => parseDigest(`sha256:${createHash("sha256").update(b).digest("hex")}`);

/** A stream that yields `data` and then fails, like a client that disconnects. */
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

describe("LocalBlobStore", () => {
  let root: string;
  let store: LocalBlobStore;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "blobs-"));
    store = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test("an upload in chunks becomes a content-addressed blob at layers/sha256/<2>/<64>", async () => {
    await store.startUpload(ID);
    let size = await store.appendUpload(ID, 0, Readable.from([Buffer.from("hello ")]));
    size = await store.appendUpload(ID, size, Readable.from([Buffer.from("world")]));
    const d = sha("hello world");
    await store.commitUpload(ID, size, d);
    const file = join(root, "layers", "sha256", d.hex.slice(0, 2), d.hex);
    assert.ok(existsSync(file));
    assert.equal(statSync(file).size, 11);
    assert.deepEqual(readdirSync(join(root, "uploads")), []);
    assert.equal(await store.stat(d), 11);
    assert.equal(await text(await store.open(d)), "hello world");
    assert.equal(await text(await store.open(d, { start: 6, end: 10 })), "world");
  });

  test("a digest mismatch leaves nothing visible and keeps the upload", async () => {
    await store.startUpload(ID);
    const size = await store.appendUpload(ID, 0, Readable.from([Buffer.from("abc")]));
    const wrong = sha("abd");
    await assert.rejects(store.commitUpload(ID, size, wrong), DigestMismatchError);
    assert.equal(await store.stat(wrong), undefined);
    assert.deepEqual(readdirSync(join(root, "uploads")), [ID]);
  });

  test("a failed append (client gone) cuts the upload back to the acknowledged offset", async () => {
    await store.startUpload(ID);
    const size = await store.appendUpload(ID, 0, Readable.from([Buffer.from("keep")]));
    await assert.rejects(store.appendUpload(ID, size, failingStream(Buffer.from("discard me"))), /aborted/);
    assert.equal(statSync(join(root, "uploads", ID)).size, 4);
    const next = await store.appendUpload(ID, size, Readable.from([Buffer.from("+more")]));
    await store.commitUpload(ID, next, sha("keep+more"));
    assert.equal(await text(await store.open(sha("keep+more"))), "keep+more");
  });

  test("after a restart (no hash state) an upload resumes from its file, dropping unacknowledged bytes", async () => {
    await store.startUpload(ID);
    await store.appendUpload(ID, 0, Readable.from([Buffer.from("0123456789")]));
    const reopened = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"));
    // Only 4 bytes were acknowledged to the client before the crash.
    const size = await reopened.appendUpload(ID, 4, Readable.from([Buffer.from("XY")]));
    assert.equal(size, 6);
    await reopened.commitUpload(ID, size, sha("0123XY"));
  });

  test("a resume that claims more bytes than the file holds is refused", async () => {
    await store.startUpload(ID);
    const reopened = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"));
    await assert.rejects(reopened.appendUpload(ID, 100, Readable.from([Buffer.from("x")])), UploadMissingError);
  });

  test("limits: too large and wrong body length are refused and leave the offset unchanged", async () => {
    await store.startUpload(ID);
    await assert.rejects(store.appendUpload(ID, 0, Readable.from([randomBytes(100)]), { maxBytes: 50 }), BlobTooLargeError);
    // A declared length past the limit is refused without reading the body.
    let pulled = false;
    const lazy = new Readable({ read() { pulled = true; this.push(null); } });
    await assert.rejects(store.appendUpload(ID, 0, lazy, { maxBytes: 50, expectedLength: 51 }), /51 bytes exceeds the limit of 50/);
    assert.equal(pulled, false);
    await assert.rejects(store.appendUpload(ID, 0, Readable.from([randomBytes(10)]), { expectedLength: 20 }), BodyLengthError);
    await assert.rejects(store.appendUpload(ID, 0, Readable.from([randomBytes(30)]), { expectedLength: 20 }), BodyLengthError);
    assert.equal(statSync(join(root, "uploads", ID)).size, 0);
  });

  test("sha512 digests are verified too", async () => {
    await store.startUpload(ID);
    const size = await store.appendUpload(ID, 0, Readable.from([Buffer.from("x")]));
    const d = parseDigest(`sha512:${createHash("sha512").update("x").digest("hex")}`);
    await store.commitUpload(ID, size, d);
    assert.equal(await store.stat(d), 1);
  });

  test("committing the same content twice keeps one blob", async () => {
    for (const id of [ID, "99999999-2222-4333-8444-555555555555"]) {
      await store.startUpload(id);
      const size = await store.appendUpload(id, 0, Readable.from([Buffer.from("same")]));
      await store.commitUpload(id, size, sha("same"));
    }
    const listed = [];
    for await (const d of store.list()) listed.push(d.text);
    assert.deepEqual(listed, [sha("same").text]);
  });

  test("delete removes the file and its empty prefix folder; open of a missing blob fails clearly", async () => {
    await store.startUpload(ID);
    await store.commitUpload(ID, await store.appendUpload(ID, 0, Readable.from([Buffer.from("gone")])), sha("gone"));
    assert.equal(await store.delete(sha("gone")), true);
    assert.equal(await store.delete(sha("gone")), false);
    assert.equal(existsSync(join(root, "layers", "sha256", sha("gone").hex.slice(0, 2))), false);
    await assert.rejects(store.open(sha("gone")), BlobMissingError);
  });

  test("upload ids that could escape the uploads folder are refused", async () => {
    for (const bad of ["../x", "a/b", "..", ""]) await assert.rejects(store.startUpload(bad), UploadMissingError);
  });

  test("cancel removes the upload; listUploads ignores foreign files", async () => {
    await store.startUpload(ID);
    writeFileSync(join(root, "uploads", "README"), "not an upload");
    assert.deepEqual(await store.listUploads(), [ID]);
    await store.cancelUpload(ID);
    await store.cancelUpload(ID); // idempotent
    assert.deepEqual(await store.listUploads(), []);
  });
});
