import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { constants, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { OffThreadHash, stopHashWorker } from "../../../registry/storage/hash-worker.ts";
import { ALIGN, writeBody } from "../../../registry/storage/write-body.ts";

const dir = mkdtempSync(join(tmpdir(), "write-body-"));
after(() => rmSync(dir, { recursive: true, force: true }));
after(() => stopHashWorker());

/** A body of the given chunk sizes, each chunk delivered on its own turn of the event loop. */
function body(sizes: number[]): { source: Readable; bytes: Buffer } {
  const chunks = sizes.map((n) => randomBytes(n));
  async function* gen() {
    for (const c of chunks) {
      await new Promise((r) => setImmediate(r));
      yield c;
    }
  }
  return { source: Readable.from(gen(), { objectMode: false }), bytes: Buffer.concat(chunks) };
}

async function into(name: string, prefix: Buffer, source: Readable, check: (c: Buffer) => void = () => undefined, hash?: OffThreadHash): Promise<number> {
  const file = join(dir, name);
  writeFileSync(file, prefix);
  const fh = await open(file, "r+");
  try {
    return await writeBody(source, fh.fd, prefix.length, check, { hash });
  } finally {
    await fh.close();
  }
}

describe("writeBody", () => {
  test("small records, a chunk larger than every buffer together and odd sizes land whole at the offset", async () => {
    const sizes = [16_384, 16_384, 3, 5 * 1024 * 1024 + 7, 65_536, 1, 262_144, 262_143, ...Array(300).fill(16_384)];
    const { source, bytes } = body(sizes);
    const prefix = randomBytes(1000);
    const n = await into("whole", prefix, source);
    assert.equal(n, bytes.length);
    const got = readFileSync(join(dir, "whole"));
    assert.equal(
      createHash("sha256").update(got).digest("hex"),
      createHash("sha256")
        .update(Buffer.concat([prefix, bytes]))
        .digest("hex"),
    );
  });

  test("an empty body writes nothing", async () => {
    assert.equal(await into("empty", Buffer.from("abc"), Readable.from([])), 0);
    assert.equal(readFileSync(join(dir, "empty"), "utf8"), "abc");
  });

  test("a chunk the check refuses stops the body: the error comes back, the source is destroyed, no write lands later", async () => {
    const { source } = body(Array(200).fill(64 * 1024));
    let seen = 0;
    const refused = new Error("too long");
    await assert.rejects(
      into("refused", Buffer.alloc(0), source, () => {
        if (++seen === 50) throw refused;
      }),
      (err) => err === refused,
    );
    assert.ok(source.destroyed);
    const size = statSync(join(dir, "refused")).size;
    assert.ok(size <= 49 * 64 * 1024, `only accepted chunks reached the file (${size} bytes)`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(statSync(join(dir, "refused")).size, size, "nothing was written after the promise settled");
  });

  test("a body that breaks off (client gone) rejects with the stream's error", async () => {
    const source = new Readable({ read() {} });
    const done = into("broken", Buffer.alloc(0), source);
    source.push(randomBytes(100_000));
    setTimeout(() => source.destroy(new Error("aborted")), 20);
    await assert.rejects(done, /aborted/);
  });

  test("a file that cannot be written (read-only descriptor) fails with the system's error", async () => {
    const file = join(dir, "ro");
    writeFileSync(file, "");
    const fh = await open(file, "r");
    try {
      const { source } = body([300_000]);
      await assert.rejects(
        writeBody(source, fh.fd, 0, () => undefined),
        /EBADF/,
      );
    } finally {
      await fh.close();
    }
  });
});

describe("writeBody with a direct (O_DIRECT) descriptor and a hash", () => {
  // The direct descriptor is a second file here, so that every byte shows which way it went.
  async function split(prefixLength: number, sizes: number[]) {
    const { source, bytes } = body(sizes);
    const prefix = randomBytes(prefixLength);
    const buffered = join(dir, `buffered-${prefixLength}`);
    const direct = join(dir, `direct-${prefixLength}`);
    writeFileSync(buffered, prefix);
    writeFileSync(direct, "");
    const fd = openSync(buffered, "r+");
    const directFd = openSync(direct, constants.O_WRONLY | constants.O_DIRECT);
    const hash = OffThreadHash.create("sha256");
    try {
      const n = await writeBody(source, fd, prefix.length, () => undefined, { directFd, hash });
      assert.equal(n, bytes.length);
    } finally {
      closeSync(fd);
      closeSync(directFd);
    }
    const digest = await hash.digest();
    hash.dispose();
    return { prefix, bytes, digest, buffered: readFileSync(buffered), direct: readFileSync(direct) };
  }

  test("from an unaligned offset: the first buffer runs to the next 4 KiB boundary, whole blocks go direct, the odd tail through the page cache", async () => {
    const sizes = [16_384, 3, 700_000, ...Array(40).fill(16_384), 5];
    const r = await split(1000, sizes);
    const end = 1000 + r.bytes.length;
    const firstAligned = 256 * 1024; // 1000 + (256 KiB - 1000): the first buffer is shortened
    const lastAligned = end - (end % ALIGN);
    const all = Buffer.concat([r.prefix, r.bytes]);
    assert.deepEqual(r.buffered.subarray(0, firstAligned), all.subarray(0, firstAligned), "prefix and head through the page cache");
    assert.deepEqual(r.direct.subarray(firstAligned, lastAligned), all.subarray(firstAligned, lastAligned), "whole blocks direct");
    assert.equal(r.direct.length, lastAligned, "nothing past the last whole block went direct");
    assert.ok(
      r.direct.subarray(0, firstAligned).every((b) => b === 0),
      "nothing before the boundary went direct",
    );
    assert.deepEqual(r.buffered.subarray(lastAligned), all.subarray(lastAligned, end), "the tail through the page cache");
    assert.ok(
      r.buffered.subarray(firstAligned, lastAligned).every((b) => b === 0),
      "the blocks that went direct were not also buffered",
    );
    assert.equal(r.digest, createHash("sha256").update(r.bytes).digest("hex"), "the hash saw the body, in order");
  });

  test("from an aligned offset every whole block goes direct", async () => {
    const r = await split(0, [1024 * 1024, 4096 * 3]);
    assert.deepEqual(r.direct, r.bytes);
    assert.equal(r.buffered.length, 0);
    assert.equal(r.digest, createHash("sha256").update(r.bytes).digest("hex"));
  });

  test("a direct descriptor that refuses the write (EINVAL) sends it and the rest of the body through the page cache", async () => {
    // Writing to /proc/self/clear_refs what it does not understand fails with EINVAL, as a
    // direct write does on a filesystem or device that refuses it.
    const refusing = openSync("/proc/self/clear_refs", "w");
    const { source, bytes } = body([1024 * 1024 + 17]);
    const file = join(dir, "refusing");
    writeFileSync(file, "");
    const fd = openSync(file, "r+");
    try {
      assert.equal(await writeBody(source, fd, 0, () => undefined, { directFd: refusing }), bytes.length);
    } finally {
      closeSync(fd);
      closeSync(refusing);
    }
    assert.deepEqual(readFileSync(file), bytes);
  });

  test("a hash update that fails fails the body", async () => {
    const hash = OffThreadHash.create("sha256");
    hash.dispose(); // the worker no longer knows it: every update is refused
    const { source } = body([600_000]);
    await assert.rejects(
      into("hash-refused", Buffer.alloc(0), source, () => undefined, hash),
      /no hash \d+ in the worker/,
    );
    assert.ok(source.destroyed);
  });
});
