import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { copyFileRange } from "../../../registry/storage/copy-range.ts";

/** A slow sink with a tiny buffer, so back-pressure and buffer reuse are exercised. */
function slowSink(limit = Infinity) {
  const chunks: Buffer[] = [];
  let received = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk)); // copy: the sender reuses its buffers
      received += chunk.length;
      if (received > limit) return cb(new Error("client went away"));
      setImmediate(cb);
    },
  });
  return { sink, data: () => Buffer.concat(chunks) };
}

const file = join(mkdtempSync(join(tmpdir(), "copy-")), "blob");
const blob = randomBytes(3 * 1024 * 1024 + 12345);
writeFileSync(file, blob);

test("copies the whole file exactly, through reused buffers, under back-pressure", async () => {
  const { sink, data } = slowSink();
  await copyFileRange(await open(file, "r"), { start: 0, end: blob.length - 1 }, sink);
  assert.ok(data().equals(blob));
  assert.equal(sink.writableFinished, true);
});

test("copies a range that starts and ends mid-buffer", async () => {
  const { sink, data } = slowSink();
  await copyFileRange(await open(file, "r"), { start: 100_000, end: 2_900_001 }, sink);
  assert.ok(data().equals(blob.subarray(100_000, 2_900_002)));
});

test("stops when the receiver fails part-way, and resolves", async () => {
  const { sink } = slowSink(1024 * 1024);
  sink.on("error", () => undefined);
  await copyFileRange(await open(file, "r"), { start: 0, end: blob.length - 1 }, sink);
  assert.equal(sink.destroyed, true);
});

test("a file shorter than the recorded size ends the response with an error", async () => {
  const { sink } = slowSink();
  const errors: Error[] = [];
  sink.on("error", (e) => errors.push(e));
  await copyFileRange(await open(file, "r"), { start: 0, end: blob.length + 1000 }, sink);
  assert.match(errors[0]!.message, /shorter than its recorded size/);
});
