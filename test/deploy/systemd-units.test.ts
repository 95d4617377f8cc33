// The shipped unit files are valid for systemd (systemd-analyze verify exits 0 and
// says nothing about them; the targets they name come with the systemd package that
// scripts/setup.sh installs) and the example config is accepted by mcr's own loader.
// deploy/install.sh itself is run in install.test.ts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { loadRegistryConfig } from "../../registry/config.ts";

const run = promisify(execFile);
const skip = skipUnlessTools("systemd-analyze");

async function verify(name: string, binary: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  try {
    // Point ExecStart at this checkout so verify can check the binary exists.
    const unit = readFileSync(join(REPO_ROOT, "deploy/systemd", name), "utf8").replace(`/opt/metacircular/bin/${binary}`, join(REPO_ROOT, "bin", binary));
    assert.notEqual(unit, readFileSync(join(REPO_ROOT, "deploy/systemd", name), "utf8"), "ExecStart names the installed binary");
    writeFileSync(join(dir, name), unit);
    const res = await run("systemd-analyze", ["verify", join(dir, name)]).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.equal(res.code, 0, `systemd-analyze verify ${name} failed:\n${res.stderr}`);
    // The host's own units may be noisy (in a container); nothing may be said about ours.
    assert.deepEqual(res.stderr.split("\n").filter((l) => l.includes(name)), []);
    return unit;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("mcr.service passes systemd-analyze verify", { skip }, async () => {
  const unit = await verify("mcr.service", "mcr");
  assert.match(unit, /TimeoutStopSec=75/, "systemd must wait longer than mcr's 60 s drain");
});

test("mcp-agent.service passes systemd-analyze verify and leaves containers alone on stop", { skip }, async () => {
  const unit = await verify("mcp-agent.service", "mcp-agent");
  assert.match(unit, /KillMode=process/);
});

test("a unit systemd refuses fails the check (the exit code is read)", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  try {
    writeFileSync(join(dir, "broken.service"), "[Service]\nExecStart=relative/path/is/refused\n");
    await assert.rejects(run("systemd-analyze", ["verify", join(dir, "broken.service")]), (e: { code: number }) => e.code !== 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the example production config loads", () => {
  const cfg = loadRegistryConfig(join(REPO_ROOT, "deploy/examples/mcr.toml"), {});
  assert.equal(cfg.server.listen_addr, "0.0.0.0:8443");
  assert.equal(cfg.server.shutdown_timeout, 60_000);
  assert.equal(cfg.storage.max_manifest_bytes, 4 * 1024 * 1024);
});
