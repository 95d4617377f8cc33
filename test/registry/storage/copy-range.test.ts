import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { after, test, type TestContext } from "node:test";
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
after(() => rmSync(dirname(file), { recursive: true, force: true }));

/** The blob opened for one test and closed when it ends (copyFileRange leaves closing to its caller). */
async function opened(t: TestContext): Promise<FileHandle> {
  const fh = await open(file, "r");
  t.after(() => fh.close());
  return fh;
}

test("copies the whole file exactly, through reused buffers, under back-pressure", async (t) => {
  const { sink, data } = slowSink();
  await copyFileRange(await opened(t), { start: 0, end: blob.length - 1 }, sink);
  assert.ok(data().equals(blob));
  assert.equal(sink.writableFinished, true);
});

test("copies a range that starts and ends mid-buffer", async (t) => {
  const { sink, data } = slowSink();
  await copyFileRange(await opened(t), { start: 100_000, end: 2_900_001 }, sink);
  assert.ok(data().equals(blob.subarray(100_000, 2_900_002)));
});

test("stops when the receiver fails part-way, and resolves", async (t) => {
  const { sink } = slowSink(1024 * 1024);
  sink.on("error", () => undefined);
  await copyFileRange(await opened(t), { start: 0, end: blob.length - 1 }, sink);
  assert.equal(sink.destroyed, true);
});

test("a file shorter than the recorded size ends the response with an error", async (t) => {
  const { sink } = slowSink();
  const errors: Error[] = [];
  sink.on("error", (e) => errors.push(e));
  await copyFileRange(await opened(t), { start: 0, end: blob.length + 1000 }, sink);
  assert.match(errors[0]!.message, /shorter than its recorded size/);
});
