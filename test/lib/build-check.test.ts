// staleReason: a built binary is stale when a file bundled into it changed or went away
// after the build started; an install without sources is not checked.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { staleReason, type BuildInfo } from "../../lib/cli/build-check.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A checkout with two sources, both older than a build that started at `builtAt`. */
function checkout(builtAt = Date.now()): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), "build-check-"));
  dirs.push(root);
  const dist = join(root, "dist");
  mkdirSync(join(root, "tool"), { recursive: true });
  mkdirSync(dist);
  const old = new Date(builtAt - 60_000);
  for (const f of ["tool/entry.ts", "tool/main.ts"]) {
    writeFileSync(join(root, f), "");
    utimesSync(join(root, f), old, old);
  }
  const info: BuildInfo = { version: "1.0.0", builtAt, binaries: { tool: { entry: "tool/entry.ts", sources: ["tool/entry.ts", "tool/main.ts"] } } };
  writeFileSync(join(dist, "build.json"), JSON.stringify(info));
  return { root, dist };
}

describe("staleReason", () => {
  test("a build newer than its sources is fresh", () => {
    const { root, dist } = checkout();
    assert.equal(staleReason(root, dist, "tool"), undefined);
  });

  test("a source changed after the build started makes it stale, naming the file", () => {
    const { root, dist } = checkout(Date.now() - 10_000);
    writeFileSync(join(root, "tool/main.ts"), "// edited");
    assert.equal(staleReason(root, dist, "tool"), "tool/main.ts changed after the build");
  });

  test("a source removed after the build makes it stale", () => {
    const { root, dist } = checkout();
    rmSync(join(root, "tool/main.ts"));
    assert.equal(staleReason(root, dist, "tool"), "tool/main.ts was removed after the build");
  });

  test("no build record, or one without this binary, is stale", () => {
    const { root, dist } = checkout();
    assert.match(staleReason(root, dist, "other") ?? "", /does not list other/);
    rmSync(join(dist, "build.json"));
    assert.match(staleReason(root, dist, "tool") ?? "", /cannot read .*build\.json \(ENOENT\)/);
  });

  test("an install that ships dist/ without the sources is not checked", () => {
    const { root, dist } = checkout(Date.now() - 10_000);
    rmSync(join(root, "tool"), { recursive: true });
    assert.equal(staleReason(root, dist, "tool"), undefined);
  });
});
