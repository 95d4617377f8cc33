// The running upload digests on a worker thread: bytes in the order given, shared memory read
// in place, other data copied, digests that leave the hash open, and a lost worker.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { AlignedBufferPool } from "../../../registry/storage/aligned-buffers.ts";
import { OffThreadHash, stopHashWorker } from "../../../registry/storage/hash-worker.ts";

after(() => stopHashWorker());

const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest("hex");

describe("OffThreadHash", () => {
  test("plain buffers (copied) and shared ones (read in place) are hashed in the order they were given", async () => {
    const pool = new AlignedBufferPool(64 * 1024, 2, 2);
    const shared = pool.take();
    const parts = [randomBytes(5), randomBytes(70_000), randomBytes(64 * 1024), randomBytes(1)];
    shared.set(parts[2]!);
    const hash = OffThreadHash.create("sha256");
    const expected = sha256(...parts);
    const pending = [hash.update(parts[0]!), hash.update(parts[1]!), hash.update(shared), hash.update(parts[3]!)];
    parts[0]!.fill(0); // a copy was sent: changing the caller's buffer afterwards changes nothing
    assert.equal(parts[1]!.length, 70_000, "the caller's buffer is still its own (not transferred away)");
    await Promise.all(pending);
    assert.equal(await hash.digest(), expected);
    hash.dispose();
  });

  test("a digest leaves the hash open for more bytes; another algorithm works the same", async () => {
    const hash = OffThreadHash.create("sha512");
    await hash.update(Buffer.from("hello "));
    assert.equal(await hash.digest(), createHash("sha512").update("hello ").digest("hex"));
    await hash.update(Buffer.from("world"));
    assert.equal(await hash.digest(), createHash("sha512").update("hello world").digest("hex"));
    hash.dispose();
  });

  test("a disposed hash is gone from the worker: asking for it fails, naming it", async () => {
    const hash = OffThreadHash.create("sha256");
    hash.dispose();
    await assert.rejects(hash.digest(), /hashing: no hash \d+ in the worker/);
  });

  test("when the worker dies its hashes say so (alive = false, calls reject) and new ones use a new worker", async () => {
    const old = OffThreadHash.create("sha256");
    await old.update(Buffer.from("abc"));
    assert.equal(old.alive, true);
    await stopHashWorker();
    assert.equal(old.alive, false);
    await assert.rejects(old.digest(), /hash worker exited/);
    const fresh = OffThreadHash.create("sha256");
    await fresh.update(Buffer.from("abc"));
    assert.equal(await fresh.digest(), sha256(Buffer.from("abc")));
  });
});

describe("AlignedBufferPool", () => {
  test("buffers are shared memory of the asked size, reused once given back, and sizes off the 64 KiB grid are refused", () => {
    const pool = new AlignedBufferPool(128 * 1024, 2, 3);
    const a = pool.take();
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(a.length, 128 * 1024);
    assert.equal(pool.idle, 1, "the rest of the slab waits");
    pool.give(a);
    assert.equal(pool.take(), a);
    for (const b of [a, pool.take(), pool.take(), pool.take()]) pool.give(b);
    assert.equal(pool.idle, 3, "no more than `keep` idle buffers are held");
    assert.throws(() => new AlignedBufferPool(1000, 1, 1), /not a positive multiple of 65536/);
  });
});
