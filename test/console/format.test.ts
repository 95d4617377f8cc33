// Ages and CPU/MEM lookups as the services screens show them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerStatsRow } from "../../console/store/resource-types.ts";
import { uptime } from "../../console/views/format.ts";
import { statsOf } from "../../console/views/usage.ts";

test("uptime: seconds in the first minute only, then minutes, hours and days", () => {
  const start = "2026-01-01T00:00:00Z";
  const at = (s: number) => uptime(start, Date.parse(start) + s * 1000);
  assert.equal(at(0), "0s");
  assert.equal(at(59), "59s");
  assert.equal(at(60), "1m");
  assert.equal(at(119), "1m", "a minute-old age does not change every second");
  assert.equal(at(59 * 60 + 59), "59m");
  assert.equal(at(3 * 3600 + 12 * 60 + 5), "3h12m");
  assert.equal(at(3 * 86400 + 4 * 3600 + 59), "3d4h");
  assert.equal(at(-5), "0s", "a clock behind the node's: never negative");
  // Started at a second of its own: counted to the clock's last whole minute, never under 1m.
  const odd = "2026-01-01T00:00:30Z";
  const clock = (iso: string) => uptime(odd, Date.parse(iso));
  assert.equal(clock("2026-01-01T00:01:29Z"), "59s");
  assert.equal(clock("2026-01-01T00:01:31Z"), "1m");
  assert.equal(clock("2026-01-01T00:02:59Z"), "1m", "two rows started at different seconds change together, at the minute");
  assert.equal(clock("2026-01-01T00:03:00Z"), "2m");
  assert.equal(uptime(""), "");
  assert.equal(uptime("not a time"), "");
});

test("statsOf finds a container's row on its node, and sees a new answer", () => {
  const row = (container: string, cpuPercent: number) => ({ container, cpuPercent }) as ContainerStatsRow;
  const first = { stats: { n1: [row("a-api", 1), row("b-api", 2)] } };
  assert.equal(statsOf(first, "n1", "b-api")?.cpuPercent, 2);
  assert.equal(statsOf(first, "n2", "b-api"), undefined);
  assert.equal(statsOf(first, "n1", "c-api"), undefined);
  const next = { stats: { n1: [row("b-api", 7)] } };
  assert.equal(statsOf(next, "n1", "b-api")?.cpuPercent, 7);
  assert.equal(statsOf(next, "n1", "a-api"), undefined);
});
