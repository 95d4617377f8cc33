// One byte formatter for mcr's commands and the console: binary units.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytes } from "../../lib/text/bytes.ts";

test("bytes: B below 1 KiB, one decimal below 10, whole above", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1023), "1023 B");
  assert.equal(bytes(1024), "1.0 KiB");
  assert.equal(bytes(2000), "2.0 KiB");
  assert.equal(bytes(3_500_000), "3.3 MiB");
  assert.equal(bytes(56 * 1024 ** 2), "56 MiB");
  assert.equal(bytes(10 * 1024 ** 3), "10 GiB");
  assert.equal(bytes(5 * 1024 ** 6), "5120 PiB");
});
