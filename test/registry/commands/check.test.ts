// `mcr check --verify N|all` against the real binary on a local store: a blob file whose bytes
// were overwritten is named with the digest its content hashes to, and the command exits 1,
// whether it asks the running server (local admin socket) or works on the stopped registry;
// a missing file is named too; a clean store passes; every bad --verify value (and ?verify= on
// GET /v1/check) is refused with a message naming it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../../helpers/https-client.ts";
import { initHome, MCR_BIN, removeHome, startMcr, type McrHome, type McrProcess } from "../../helpers/mcr-process.ts";
import { sha256 } from "../../helpers/oci.ts";
import { PushClient } from "../../helpers/oci-push.ts";

const exec = promisify(execFile);

/** `mcr check` with its exit code, stdout and stderr (a non-zero exit is not thrown). */
async function check(home: McrHome, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(MCR_BIN, ["check", "--config", home.config, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("mcr check --verify on a local store", () => {
  let home: McrHome;
  let mcr: McrProcess | undefined;
  const blobs = [randomBytes(100_000), randomBytes(3_000), randomBytes(70_000)];
  const fileOf = (b: Buffer) => {
    const hex = sha256(b).slice("sha256:".length);
    return join(home.dir, "layers", "sha256", hex.slice(0, 2), hex);
  };

  before(async () => {
    home = await initHome("", { backend: "embedded" });
    mcr = await startMcr(home);
    const c = new RegistryClient(mcr.url, home.caPem);
    try {
      for (const b of blobs) await new PushClient(c, mcr.url).pushBlob("check/app", b);
    } finally {
      c.close();
    }
  });
  after(async () => {
    await mcr?.stop();
    if (home) removeHome(home);
  });

  test("a clean store passes: every blob read back, or a sample of them", async () => {
    const all = await check(home, "--verify", "all", "--json");
    assert.equal(all.code, 0, all.stderr);
    const r = JSON.parse(all.stdout);
    assert.equal(r.ok, true);
    assert.deepEqual(r.verification, { blobs: 3, bytes: 173_000, corrupt: [] });
    const one = JSON.parse((await check(home, "--verify", "1", "--json")).stdout);
    assert.equal(one.verification.blobs, 1);
    const more = JSON.parse((await check(home, "--verify", "50", "--json")).stdout);
    assert.equal(more.verification.blobs, 3, "a sample larger than the store reads every blob once");
    const without = JSON.parse((await check(home, "--json")).stdout);
    assert.equal(without.verification, undefined, "nothing is read back without --verify");
  });

  test("a blob whose bytes were overwritten: exit 1 and the digest named, through the running server", async () => {
    const victim = blobs[1]!;
    const bad = Buffer.from(victim);
    bad[1234] = bad[1234]! ^ 0xff;
    writeFileSync(fileOf(victim), bad);
    const text = await check(home, "--verify", "all");
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /blobs read back and hashed: 3 /);
    assert.match(text.stdout, new RegExp(`blobs that do not match their digest: 1\\n  ${sha256(victim)}: content hashes to ${sha256(bad)} \\(3000 bytes\\)`));
    assert.match(text.stdout, /PROBLEMS FOUND\n$/);
    const json = await check(home, "--verify", "all", "--json");
    assert.equal(json.code, 1);
    const r = JSON.parse(json.stdout);
    assert.equal(r.ok, false);
    assert.deepEqual(r.verification.corrupt, [{ digest: sha256(victim), problem: `content hashes to ${sha256(bad)} (3000 bytes)` }]);
    // A sample finds it when it is drawn: all three are.
    assert.equal(JSON.parse((await check(home, "--verify", "3", "--json")).stdout).verification.corrupt[0].digest, sha256(victim));
  });

  test("GET /v1/check?verify=all reports it too; a bad verify is 400", async () => {
    const c = new RegistryClient(mcr!.url, home.caPem);
    try {
      const r = await c.request("GET", "/v1/check?verify=all");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().ok, false);
      assert.deepEqual(
        r.json().verification.corrupt.map((x: { digest: string }) => x.digest),
        [sha256(blobs[1]!)],
      );
      assert.equal(r.json().verification.blobs, "3", "int64 as a string, as proto3 JSON has it");
      for (const bad of ["x", "0", "-1", "1e3"]) {
        const refused = await c.request("GET", `/v1/check?verify=${bad}`);
        assert.equal(refused.status, 400, bad);
        assert.match(refused.json().error, /verify takes a number of blobs to read back/);
      }
    } finally {
      c.close();
    }
  });

  test("with the registry stopped: the same verdict, and a missing file named as such", async () => {
    await mcr!.stop();
    mcr = undefined;
    const gone = blobs[2]!;
    renameSync(fileOf(gone), `${fileOf(gone)}.away`);
    try {
      const r = await check(home, "--verify", "all", "--json");
      assert.equal(r.code, 1);
      const j = JSON.parse(r.stdout);
      assert.deepEqual(j.missingFiles, [sha256(gone)]);
      assert.deepEqual(
        j.verification.corrupt.map((x: { digest: string; problem: string }) => [x.digest, x.problem.replace(/ \(.*/, "")]).sort(),
        [
          [sha256(blobs[1]!), `content hashes to ${sha256(readFileSync(fileOf(blobs[1]!)))}`],
          [sha256(gone), "missing from storage"],
        ].sort(),
      );
    } finally {
      renameSync(`${fileOf(gone)}.away`, fileOf(gone));
    }
    writeFileSync(fileOf(blobs[1]!), blobs[1]!);
    const clean = await check(home, "--verify", "all");
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /blobs that do not match their digest: 0\nok\n$/);
  });

  test("every bad --verify value is refused before anything is opened, naming it", async () => {
    for (const bad of ["abc", "0", "-3", "1.5", "", "10000000000", "ALL", "5x"]) {
      const r = await check(home, "--verify", bad);
      assert.equal(r.code, 1, `--verify ${JSON.stringify(bad)}`);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `mcr: --verify takes a number of blobs to read back (1 to 1000000000) or "all", not ${JSON.stringify(bad)}\n`);
    }
    const missing = await check(home, "--verify");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /option '--verify <n\|all>' argument missing/);
  });
});
