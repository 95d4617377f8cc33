// The shipped unit files are valid for systemd (checked by systemd-analyze verify)
// and the example config is accepted by mcr's own loader.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { requireTools } from "../helpers/tools.ts";
import { loadRegistryConfig } from "../../registry/config.ts";

const run = promisify(execFile);

async function verify(name: string, binary: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  // Point ExecStart at this checkout so verify can check the binary exists.
  const unit = readFileSync(join(REPO_ROOT, "deploy/systemd", name), "utf8").replace(`/opt/metacircular/bin/${binary}`, join(REPO_ROOT, "bin", binary));
  writeFileSync(join(dir, name), unit);
  const res = await run("systemd-analyze", ["verify", join(dir, name)]).catch((e: { stderr: string; code: number }) => e);
  const stderr = "stderr" in res ? res.stderr : "";
  // Only complaints about this unit count (the host's own units may be noisy in a container).
  const ours = stderr.split("\n").filter((l) => l.includes(name) && !/User=|Group=|No such process/.test(l));
  assert.deepEqual(ours, []);
  return unit;
}

test("mcr.service passes systemd-analyze verify", async (t) => {
  if (!requireTools(t, "systemd-analyze")) return;
  const unit = await verify("mcr.service", "mcr");
  assert.match(unit, /TimeoutStopSec=75/, "systemd must wait longer than mcr's 60 s drain");
});

test("mcp-agent.service passes systemd-analyze verify and leaves containers alone on stop", async (t) => {
  if (!requireTools(t, "systemd-analyze")) return;
  const unit = await verify("mcp-agent.service", "mcp-agent");
  assert.match(unit, /KillMode=process/);
});

test("the example production config loads", () => {
  const cfg = loadRegistryConfig(join(REPO_ROOT, "deploy/examples/mcr.toml"), {});
  assert.equal(cfg.server.listen_addr, "0.0.0.0:8443");
  assert.equal(cfg.server.shutdown_timeout, 60_000);
  assert.equal(cfg.storage.max_manifest_bytes, 4 * 1024 * 1024);
});

test("install.sh is valid bash", async () => {
  await run("bash", ["-n", join(REPO_ROOT, "deploy/install.sh")]);
});
