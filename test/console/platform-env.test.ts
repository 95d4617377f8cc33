// The environment `mcp up` starts its daemons with: a containers.conf or storage.conf that
// $CONTAINERS_CONF / $CONTAINERS_STORAGE_CONF name reaches the agent's podman even when the
// home's agent config names a containers.conf of its own (as `mcp up` writes where the
// machine's limits are low), and an explicit $MCP_AGENT_RUNTIME_… still wins.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { loadAgentConfig } from "../../agent/config.ts";
import { daemonEnv } from "../../console/platform/daemons.ts";

const dir = mkdtempSync(join(tmpdir(), "mcp-platform-env-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An agent config like the one `mcp up` writes on a machine with low limits. */
function homeAgentConfig(): string {
  const file = join(dir, "mcp-agent.toml");
  writeFileSync(
    file,
    [
      "[server]",
      'listen_addr = "127.0.0.1:0"',
      'tls_cert = "cert.pem"',
      'tls_key = "key.pem"',
      "[database]",
      'path = "agent.db"',
      "[auth]",
      "disabled = true",
      "[runtime]",
      'containers_conf = "containers.conf"',
      "",
    ].join("\n"),
  );
  return file;
}

describe("daemonEnv", () => {
  test("the agent gets the environment's containers.conf and storage.conf as its overrides, as absolute paths", () => {
    const env = { PATH: "/usr/bin", CONTAINERS_CONF: "/etc/ops/containers.conf", CONTAINERS_STORAGE_CONF: "ops/storage.conf" };
    const out = daemonEnv("mcp-agent", env);
    assert.equal(out.MCP_AGENT_RUNTIME_CONTAINERS_CONF, "/etc/ops/containers.conf");
    assert.equal(out.MCP_AGENT_RUNTIME_STORAGE_CONF, resolve("ops/storage.conf"));
    assert.equal(out.PATH, "/usr/bin");
    assert.equal(out.CONTAINERS_CONF, "/etc/ops/containers.conf");
    // The caller's environment is not changed.
    assert.equal("MCP_AGENT_RUNTIME_CONTAINERS_CONF" in env, false);

    const cfg = loadAgentConfig(homeAgentConfig(), out);
    assert.equal(cfg.runtime.containers_conf, "/etc/ops/containers.conf");
    assert.equal(cfg.runtime.storage_conf, resolve("ops/storage.conf"));
  });

  test("without them the home's containers.conf stays, and podman's own lookup for storage", () => {
    const out = daemonEnv("mcp-agent", { PATH: "/usr/bin" });
    assert.deepEqual(out, { PATH: "/usr/bin" });
    const cfg = loadAgentConfig(homeAgentConfig(), out);
    assert.equal(cfg.runtime.containers_conf, join(dir, "containers.conf"));
    assert.equal(cfg.runtime.storage_conf, "");
  });

  test("an explicit $MCP_AGENT_RUNTIME_CONTAINERS_CONF wins over $CONTAINERS_CONF", () => {
    const out = daemonEnv("mcp-agent", { CONTAINERS_CONF: "/a.conf", MCP_AGENT_RUNTIME_CONTAINERS_CONF: "/b.conf" });
    assert.equal(out.MCP_AGENT_RUNTIME_CONTAINERS_CONF, "/b.conf");
    assert.equal(loadAgentConfig(homeAgentConfig(), out).runtime.containers_conf, "/b.conf");
  });

  test("mcr's environment is passed as it is", () => {
    const env = { CONTAINERS_CONF: "/a.conf" };
    assert.equal(daemonEnv("mcr", env), env);
  });
});
