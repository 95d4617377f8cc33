// The `since` of a Logs request: every form below was checked against podman 4.3's
// `podman logs --since` (accepted ones parse there; refused ones fail there too, or are
// forms the agent does not take).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { logSinceProblem } from "../../lib/text/log-since.ts";

describe("log since", () => {
  test("RFC 3339 times, days, unix seconds and durations are accepted; empty means no limit", () => {
    for (const v of [
      "",
      "2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05.123456789+02:00",
      "2024-02-29T23:59:59-11:30",
      "2024-01-02T03:04:05",
      "2024-01-02T03:04:05.5",
      "2024-01-02",
      "2024-01-02Z",
      "2024-01-02+02:00",
      "1700000000",
      "1700000000.5",
      "0",
      "10m",
      "1h30m",
      "1.5h",
      ".5s",
      "500ms",
      "2us",
      "3µs",
      "4ns",
    ]) {
      assert.equal(logSinceProblem(v), undefined, v);
    }
  });

  test("anything else is refused, naming the field and quoting the value", () => {
    for (const v of [
      "garbage",
      "10d",
      "2024-02-30",
      "2023-02-29T00:00:00Z",
      "2024-13-01",
      "2024-01-02T24:00:00Z",
      "2024-01-02T03:04:60Z",
      "2024-01-02T03:04:05z",
      "2024-01-02t03:04:05Z",
      "2024-01-02 03:04:05",
      "2024-01-02T03:04:05+24:00",
      "-10m",
      "m",
      "1e9",
      "3000000h",
      "10m\n",
      "\0",
    ]) {
      const problem = logSinceProblem(v);
      assert.ok(problem, `${JSON.stringify(v)} is refused`);
      assert.ok(problem.startsWith(`since: ${JSON.stringify(v)} is not a time`), problem);
    }
  });

  test("a long value is quoted as a short prefix", () => {
    const problem = logSinceProblem("1".repeat(100_000))!;
    assert.match(problem, /^since: "1{64}"… \(100000 characters\) is not a time/);
    assert.ok(problem.length < 300);
  });
});
