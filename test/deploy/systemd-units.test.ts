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

test("mcr.service passes systemd-analyze verify", async (t) => {
  if (!requireTools(t, "systemd-analyze")) return;
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  // Point ExecStart at this checkout so verify can check the binary exists.
  const unit = readFileSync(join(REPO_ROOT, "deploy/systemd/mcr.service"), "utf8").replace("/opt/metacircular/bin/mcr", join(REPO_ROOT, "bin/mcr"));
  writeFileSync(join(dir, "mcr.service"), unit);
  const res = await run("systemd-analyze", ["verify", join(dir, "mcr.service")]).catch((e: { stderr: string; code: number }) => e);
  const stderr = "stderr" in res ? res.stderr : "";
  // Only complaints about this unit count (the host's own units may be noisy in a container).
  const ours = stderr.split("\n").filter((l) => l.includes("mcr.service") && !/User=|Group=|No such process/.test(l));
  assert.deepEqual(ours, []);
  assert.match(unit, /TimeoutStopSec=75/, "systemd must wait longer than mcr's 60 s drain");
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
