// deploy/examples/ is what operators copy: every file loads with the loader that reads it
// in production (unknown keys are errors there, so a stale example fails here).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { loadRegistryConfig } from "../../registry/config.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { loadConsoleConfig } from "../../console/config.ts";
import { portIndices } from "../../lib/services/definition.ts";
import { parseDefinitionFile } from "../../console/definitions.ts";
import { parseMachineRegistry } from "../../lib/smep/smep.ts";

const EXAMPLES = join(REPO_ROOT, "deploy/examples");
const noEnv = {};

test("mcr.toml: the production config", () => {
  const cfg = loadRegistryConfig(join(EXAMPLES, "mcr.toml"), noEnv);
  assert.equal(cfg.server.listen_addr, "0.0.0.0:8443");
  assert.equal(cfg.server.shutdown_timeout, 60_000);
  assert.equal(cfg.database.path, "/srv/mcr/mcr.db");
  assert.equal(cfg.storage.max_manifest_bytes, 4 * 1024 * 1024);
});

test("mcp-agent.toml: every key, as the agent reads it", () => {
  const cfg = loadAgentConfig(join(EXAMPLES, "mcp-agent.toml"), noEnv);
  assert.equal(cfg.server.listen_addr, "0.0.0.0:9444");
  assert.equal(cfg.server.shutdown_timeout, 30_000);
  assert.equal(cfg.database.path, "/var/lib/mcp-agent/agent.db");
  assert.equal(cfg.mcias.server_url, "https://registry.example.net:8443");
  assert.equal(cfg.registry.host, "registry.example.net:8443");
  assert.equal(cfg.registry.password_file, "/var/lib/mcp-agent/registry.password");
  assert.deepEqual(cfg.storage.allowed_volume_roots, ["/srv", "/mnt"]);
  assert.equal(cfg.placement.isolation, "rootless");
  assert.equal(cfg.proxy?.config_file, "/etc/haproxy/mcp-routes.cfg");
  assert.equal(cfg.dns?.zone, "example.net", "[dns] zone defaults to [node] zone");
  assert.deepEqual(cfg.dns?.addresses, ["192.0.2.10", "2001:db8::10"]);
});

test("mcp.toml: two nodes and the registry; services/ and machine-registry beside it", () => {
  const cfg = loadConsoleConfig(join(EXAMPLES, "mcp.toml"), noEnv);
  assert.deepEqual(
    cfg.nodes.map((n) => n.name),
    ["rift", "orbit"],
  );
  assert.equal(cfg.registry.url, "https://registry.example.net:8443");
  assert.equal(cfg.ca_cert, join(homedir(), ".config/mcp/ca.pem"));
  assert.equal(cfg.services.dir, join(EXAMPLES, "services"));
  assert.equal(cfg.placement.machine_registry, join(EXAMPLES, "machine-registry"));
});

test("service definitions: a single-component service and an api + web service", () => {
  const files = readdirSync(join(EXAMPLES, "services")).sort();
  assert.deepEqual(files, ["echo.toml", "myservice.toml"]);
  const defs = Object.fromEntries(
    files.map((f) => {
      // The console's loader: definitions carry its [build.images] and path beside the definition's own keys.
      const { def } = parseDefinitionFile(join(EXAMPLES, "services", f));
      assert.equal(`${def.name}.toml`, f, "a definition's file is named after the service");
      return [def.name, def];
    }),
  );

  const echo = defs.echo!;
  assert.deepEqual(
    echo.components.map((c) => c.name),
    ["api"],
  );
  assert.deepEqual(echo.components[0]!.routes, [{ name: "", port: 443, mode: "l7", hostname: "echo.example.net" }]);

  const my = defs.myservice!;
  assert.equal(my.environment, "prod");
  assert.deepEqual(
    my.components.map((c) => c.name),
    ["api", "web"],
  );
  assert.deepEqual(
    my.components[0]!.routes.map((r) => r.name),
    ["rest", "grpc"],
  );
  assert.deepEqual(my.components[0]!.env, { LOG_LEVEL: "info" });
  assert.deepEqual(my.components[1]!.volumes, ["/srv/myservice:/srv/myservice:ro"]);
  // Three routes: SMEP port indices 0-2 in declaration order.
  assert.deepEqual([...portIndices(my.components).values()], [0, 1, 2]);
});

test("machine-registry: the station and a number for each example service", () => {
  const registry = parseMachineRegistry(readFileSync(join(EXAMPLES, "machine-registry"), "utf8"));
  assert.deepEqual(
    [...registry],
    [
      ["station", 0],
      ["echo", 1],
      ["myservice", 2],
    ],
  );
});
