// Password hashing leaves room on libuv's thread pool: however many hashes are asked for at
// once (a flood of failed logins), at most MAX_CONCURRENT_HASHES run, so file reads and
// writes (blob uploads and pulls) still find a free thread, and every hash still comes out right.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { hashPassword, MAX_CONCURRENT_HASHES, verifyPassword } from "../../../registry/identity/passwords.ts";

describe("password hashing", () => {
  test("leaves threads for file I/O while many hashes wait", async () => {
    assert.ok(MAX_CONCURRENT_HASHES < 4, "fewer hashes than libuv's 4 threads");
    let hashesDone = 0;
    const hashes = Array.from({ length: 8 }, (_, i) => hashPassword(`password number ${i}`).then((h) => (hashesDone++, h)));
    // Four thread-pool round trips (open, stat, read, close): with every thread hashing, this
    // would wait for a hash (tens of ms at least) to finish.
    await readFile(import.meta.filename);
    assert.equal(hashesDone, 0, "a file read waited for a password hash");
    const stored = await Promise.all(hashes);
    for (const [i, h] of stored.entries()) {
      assert.equal(await verifyPassword(`password number ${i}`, h), true);
      assert.equal(await verifyPassword(`password number ${i + 1}`, h), false);
    }
  });
});
