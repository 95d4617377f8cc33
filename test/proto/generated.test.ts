// The committed generated code must be what `buf generate` produces now, and `buf lint` must pass.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const run = promisify(execFile);
const buf = join(REPO_ROOT, "node_modules", ".bin", "buf");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

test("buf lint passes", async () => {
  await run(buf, ["lint"], { cwd: REPO_ROOT });
});

test("proto/gen is what buf generate produces (regenerate with `npm run generate` and commit)", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "buf-gen-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  await run(buf, ["generate", "-o", out], { cwd: REPO_ROOT, env: { ...process.env, PATH: `${join(REPO_ROOT, "node_modules", ".bin")}:${process.env.PATH}` } });
  const fresh = join(out, "proto", "gen");
  const committed = join(REPO_ROOT, "proto", "gen");
  const list = (d: string) =>
    files(d)
      .map((f) => relative(d, f))
      .sort();
  assert.deepEqual(list(fresh), list(committed));
  for (const f of list(fresh)) assert.equal(readFileSync(join(committed, f), "utf8"), readFileSync(join(fresh, f), "utf8"), `${f} is stale`);
});
