// The shipped unit files are valid for systemd (systemd-analyze verify exits 0 and says
// nothing about them; the targets they name come with the systemd package that
// scripts/setup.sh installs) and keep the promises the docs make about them. They run
// for real under systemd in systemd-boot.test.ts; deploy/install.sh in install.test.ts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { loadRegistryConfig } from "../../registry/config.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

const run = promisify(execFile);
const skip = skipUnlessTools("systemd-analyze");
const UNITS = join(REPO_ROOT, "deploy/systemd");
const unitFiles = readdirSync(UNITS)
  .filter((f) => /\.(service|timer)$/.test(f))
  .sort();

/** `[Section] Key=value` lines; a key given twice keeps both values. */
function unit(name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of readFileSync(join(UNITS, name), "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) section = s[1]!;
    else {
      const i = line.indexOf("=");
      const key = `${section}.${line.slice(0, i)}`;
      out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
    }
  }
  return out;
}
const one = (u: Map<string, string[]>, key: string) => u.get(key)?.at(-1);
const seconds = (v: string | undefined) => Number(/^(\d+)s?$/.exec(v ?? "")?.[1] ?? NaN);

test("every unit passes systemd-analyze verify", { skip }, async () => {
  assert.deepEqual(unitFiles, ["mcp-agent.service", "mcr-backup.service", "mcr-backup.timer", "mcr-signer.service", "mcr-signer.timer", "mcr.service"]);
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  try {
    for (const name of unitFiles) {
      // ExecStart points at this checkout so that verify can check the binary exists.
      const text = readFileSync(join(UNITS, name), "utf8");
      const local = text.replaceAll("/opt/metacircular/bin/", join(REPO_ROOT, "bin") + "/");
      if (name.endsWith(".service")) assert.notEqual(local, text, `${name} runs an installed binary`);
      writeFileSync(join(dir, name), local);
    }
    const res = await run("systemd-analyze", ["verify", ...unitFiles.map((n) => join(dir, n))]).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.equal(res.code, 0, `systemd-analyze verify failed:\n${res.stderr}`);
    // The host's own units may be noisy (in a container); nothing may be said about ours.
    assert.deepEqual(
      res.stderr.split("\n").filter((l) => unitFiles.some((n) => l.includes(n))),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

test("the daemons are Type=notify, restart on failure and drain within TimeoutStopSec", () => {
  const mcrDrain = loadRegistryConfig(join(REPO_ROOT, "deploy/examples/mcr.toml"), {}).server.shutdown_timeout / 1000;
  const agentDrain = loadAgentConfig(join(REPO_ROOT, "deploy/examples/mcp-agent.toml"), {}).server.shutdown_timeout / 1000;
  for (const [name, drain] of [
    ["mcr.service", mcrDrain],
    ["mcp-agent.service", agentDrain],
  ] as const) {
    const u = unit(name);
    assert.equal(one(u, "Service.Type"), "notify", name);
    assert.equal(one(u, "Service.NotifyAccess"), "all", `${name}: systemd-notify, a child, sends READY=1`);
    assert.equal(one(u, "Service.Restart"), "on-failure", name);
    assert.equal(one(u, "Service.StandardError"), "journal", name);
    assert.ok(seconds(one(u, "Service.TimeoutStopSec")) >= drain + 10, `${name}: TimeoutStopSec leaves room after the ${drain} s drain`);
  }
});

test("mcr and its backup run as mcr in a sandbox that can write only its home", () => {
  for (const name of ["mcr.service", "mcr-backup.service"]) {
    const u = unit(name);
    assert.equal(one(u, "Service.User"), "mcr");
    assert.equal(one(u, "Service.NoNewPrivileges"), "yes");
    assert.equal(one(u, "Service.ProtectSystem"), "strict");
    assert.deepEqual(u.get("Service.ReadWritePaths"), ["/srv/mcr"], `${name}: never the CA folder /srv/mcr-ca`);
    assert.equal(one(u, "Service.ProtectHome"), "yes");
    assert.equal(one(u, "Service.PrivateTmp"), "yes");
    assert.equal(one(u, "Service.CapabilityBoundingSet"), "");
    assert.ok(one(u, "Service.RestrictAddressFamilies"), name);
  }
});

test("the agent has no mount namespace (its mounts must reach the host) and a bounded capability set", () => {
  const u = unit("mcp-agent.service");
  assert.equal(one(u, "Service.KillMode"), "process", "stopping the agent leaves the containers running");
  for (const key of [
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "PrivateDevices",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectKernelTunables",
    "ProtectControlGroups",
    "ProtectProc",
    "PrivateMounts",
    "MountFlags",
  ]) {
    assert.equal(u.get(`Service.${key}`), undefined, `${key} would give the agent a mount namespace of its own`);
  }
  for (const key of ["SystemCallFilter", "RestrictAddressFamilies", "SystemCallArchitectures", "RestrictNamespaces", "LockPersonality", "ProtectClock"]) {
    assert.equal(u.get(`Service.${key}`), undefined, `${key} would be inherited by every container`);
  }
  const caps = one(u, "Service.CapabilityBoundingSet")!.split(/\s+/);
  for (const needed of ["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_NET_ADMIN"]) assert.ok(caps.includes(needed), needed);
  for (const dropped of ["CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_TIME", "CAP_SYS_BOOT", "CAP_BPF"]) assert.ok(!caps.includes(dropped), dropped);
});

test("the backup timer fires daily at 02:00 UTC with five minutes of jitter", { skip }, async () => {
  const t = unit("mcr-backup.timer");
  assert.equal(one(t, "Timer.RandomizedDelaySec"), "5min");
  assert.equal(one(t, "Timer.Persistent"), "true");
  assert.equal(one(t, "Install.WantedBy"), "timers.target");
  const { stdout } = await run("systemd-analyze", ["calendar", "--iterations=2", one(t, "Timer.OnCalendar")!], { env: { ...process.env, TZ: "UTC" } });
  const next = [...stdout.matchAll(/\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d) UTC/g)].map((m) => m[1]);
  assert.deepEqual(next, ["02:00:00", "02:00:00"], stdout);
  assert.deepEqual(unit("mcr-backup.service").get("Service.ExecStart"), ["/opt/metacircular/bin/mcr snapshot --config /srv/mcr/mcr.toml"]);
});

test("the units' descriptor and memory limits leave room for the daemons' own limits", () => {
  const mcr = loadRegistryConfig(join(REPO_ROOT, "deploy/examples/mcr.toml"), {}).server;
  const agent = loadAgentConfig(join(REPO_ROOT, "deploy/examples/mcp-agent.toml"), {}).server;
  const bytes = (v: string | undefined) => {
    const m = /^(\d+)([KMG])$/.exec(v ?? "");
    assert.ok(m, `a size like 1G, not ${v}`);
    return Number(m[1]) * 1024 ** " KMG".indexOf(m[2]!);
  };
  for (const [name, s, streams] of [
    ["mcr.service", mcr, 0],
    ["mcp-agent.service", agent, agent.max_streams_per_account],
  ] as const) {
    const u = unit(name);
    const nofile = Number(one(u, "Service.LimitNOFILE"));
    // A socket and a file (mcr) or a podman child's pipes (agent) per connection, and slack.
    assert.ok(nofile >= 2 * s.max_connections + 3 * streams + 1024, `${name}: LimitNOFILE ${nofile} for ${s.max_connections} connections`);
    const max = bytes(one(u, "Service.MemoryMax"));
    assert.ok(bytes(one(u, "Service.MemoryHigh")) < max, `${name}: MemoryHigh throttles before MemoryMax kills`);
    assert.ok(max >= 4 * s.max_buffered_body_bytes + 256 * 1024 ** 2, `${name}: MemoryMax holds the body budget and the daemon`);
    const heap = /--max-old-space-size=(\d+)/.exec(u.get("Service.Environment")?.join(" ") ?? "");
    assert.ok(heap && Number(heap[1]) * 1024 ** 2 < max, `${name}: V8's heap limit is below MemoryMax`);
  }
});

test("the signer timer renews the node signer daily as root, from the CA folder", () => {
  const t = unit("mcr-signer.timer");
  assert.equal(one(t, "Timer.OnCalendar"), "daily");
  assert.equal(one(t, "Timer.Persistent"), "true");
  const s = unit("mcr-signer.service");
  assert.equal(s.get("Service.User"), undefined, "root: only root reads the CA key");
  assert.deepEqual(s.get("Service.ExecStart"), ["/opt/metacircular/bin/mcr cert signer --config /srv/mcr/mcr.toml --ca-dir /srv/mcr-ca"]);
  assert.deepEqual(s.get("Service.ReadOnlyPaths"), ["/srv/mcr-ca"]);
  assert.deepEqual(s.get("Service.ReadWritePaths"), ["/srv/mcr"]);
});

test("mcr.service starts node with the server's flags (lib/process/node-flags.ts), found on PATH", () => {
  assert.deepEqual(unit("mcr.service").get("Service.ExecStart"), [
    `/usr/bin/env node ${MCR_SERVER_NODE_FLAGS.join(" ")} /opt/metacircular/bin/mcr server --config /srv/mcr/mcr.toml`,
  ]);
});
