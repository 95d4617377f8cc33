// The resume point of a broken log follow: podman's timestamps split off, and after a
// reconnect `since` the last time, the lines already shown at exactly that time are skipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reconnectDelay, ResumePoint, splitTimestamp } from "../../console/store/log-resume.ts";

test("splitTimestamp takes podman's RFC 3339 prefix off; lines without one are left alone", () => {
  const s = splitTimestamp("2026-11-29T10:00:01.000000050+00:00 hello world")!;
  assert.equal(s.text, "hello world");
  assert.equal(s.time, "2026-11-29T10:00:01.000000050+00:00");
  assert.equal(s.key, BigInt(Date.parse("2026-11-29T10:00:01Z")) * 1_000_000n + 50n);
  assert.equal(splitTimestamp("2026-11-29T10:00:01Z ")!.text, "");
  assert.equal(splitTimestamp("hello"), null);
});

test("after a reconnect, lines before the last time and the ones seen at it are skipped, new ones kept", () => {
  const r = new ResumePoint();
  const at = (t: string, text: string) => splitTimestamp(`2026-11-29T10:00:0${t}Z ${text}`)!;
  assert.equal(r.seen(at("1.1", "a")), false);
  assert.equal(r.seen(at("1.2", "b")), false);
  assert.equal(r.seen(at("1.2", "c")), false);
  assert.equal(r.time, "2026-11-29T10:00:01.2Z");
  r.reconnecting();
  // podman answers `since` 1.2 with every line at or after it.
  assert.equal(r.seen(at("1.1", "a")), true);
  assert.equal(r.seen(at("1.2", "b")), true);
  assert.equal(r.seen(at("1.2", "c")), true);
  assert.equal(r.seen(at("1.2", "d")), false, "a third line at the same time was never shown");
  assert.equal(r.seen(at("2.0", "e")), false);
  assert.equal(r.seen(at("2.0", "f")), false);
  r.reconnecting();
  assert.equal(r.seen(at("2.0", "e")), true);
  assert.equal(r.seen(at("3.0", "g")), false, "the skip ends at the first newer line");
});

test("the backoff doubles from 250 ms to 10 s", () => {
  assert.deepEqual([0, 1, 2, 5, 6, 20].map(reconnectDelay), [250, 500, 1000, 8000, 10_000, 10_000]);
});
