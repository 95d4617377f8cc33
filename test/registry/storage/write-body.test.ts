import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { writeBody } from "../../../registry/storage/write-body.ts";

const dir = mkdtempSync(join(tmpdir(), "write-body-"));
after(() => rmSync(dir, { recursive: true, force: true }));

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

async function into(name: string, prefix: Buffer, source: Readable, check: (c: Buffer) => void = () => undefined): Promise<number> {
  const file = join(dir, name);
  writeFileSync(file, prefix);
  const fh = await open(file, "r+");
  try {
    return await writeBody(source, fh.fd, prefix.length, check);
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
