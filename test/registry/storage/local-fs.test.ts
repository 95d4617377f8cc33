// The local store: the BlobStore contract (test/helpers/blob-store-contract.ts), then what
// only a folder has: the layout on disk, resuming from the file after a restart, upload ids
// that could escape the folder, foreign files.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer, text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, test } from "node:test";
import { blobStoreContract, sha } from "../../helpers/blob-store-contract.ts";
import { UploadMissingError } from "../../../registry/storage/blob-store.ts";
import { stopHashWorker } from "../../../registry/storage/hash-worker.ts";
import { LocalBlobStore } from "../../../registry/storage/local-fs.ts";

const ID = "11111111-2222-4333-8444-555555555555";

blobStoreContract("local folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "blobs-contract-"));
  const open = () => LocalBlobStore.open(join(dir, "layers"), join(dir, "uploads"));
  const [a, b] = [await open(), await open()];
  return { a, b, close: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe("LocalBlobStore: its folders and restarts", () => {
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

  test("after a restart (no hash state) an upload resumes from its file, dropping unacknowledged bytes", async () => {
    await store.startUpload(ID);
    await store.appendUpload(ID, 0, Readable.from([Buffer.from("0123456789")]));
    const reopened = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"));
    // Only 4 bytes were acknowledged to the client before the crash.
    const size = await reopened.appendUpload(ID, 4, Readable.from([Buffer.from("XY")]));
    assert.equal(size, 6);
    await reopened.commitUpload(ID, size, sha("0123XY"));
  });

  test("an upload whose hash worker died is finished from its file, with the right digest", async () => {
    await store.startUpload(ID);
    const first = randomBytes(300_000);
    const second = randomBytes(5_000);
    let size = await store.appendUpload(ID, 0, Readable.from([first]));
    await stopHashWorker(); // the running hash of this upload is lost with it
    size = await store.appendUpload(ID, size, Readable.from([second]));
    const d = sha(Buffer.concat([first, second]));
    await store.commitUpload(ID, size, d);
    assert.equal(await store.stat(d), 305_000);
  });

  test("with direct writes off (storage.direct_writes = false) a multi-buffer body lands the same", async () => {
    const plain = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"), { directWrites: false });
    const bytes = randomBytes(1024 * 1024 + 3);
    await plain.startUpload(ID);
    const size = await plain.appendUpload(ID, 0, Readable.from([bytes]));
    await plain.commitUpload(ID, size, sha(bytes));
    assert.deepEqual(await buffer(await plain.open(sha(bytes))), bytes);
  });

  test("a resume that claims more bytes than the file holds is refused", async () => {
    await store.startUpload(ID);
    const reopened = await LocalBlobStore.open(join(root, "layers"), join(root, "uploads"));
    await assert.rejects(reopened.appendUpload(ID, 100, Readable.from([Buffer.from("x")])), UploadMissingError);
  });

  test("delete removes the file and its empty prefix folder", async () => {
    await store.startUpload(ID);
    await store.commitUpload(ID, await store.appendUpload(ID, 0, Readable.from([Buffer.from("gone")])), sha("gone"));
    assert.equal(await store.delete(sha("gone")), true);
    assert.equal(existsSync(join(root, "layers", "sha256", sha("gone").hex.slice(0, 2))), false);
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
