// Unknown sections and keys in mcr.toml, mcp-agent.toml and mcp.toml, and $MCR_/$MCP_
// variables that name no key, are errors that name the key and the file.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { ConfigError } from "../../lib/config/load.ts";
import { loadRegistryConfig, registryConfigSchema } from "../../registry/config.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { agentConfigSchema } from "../../agent/config-schema.ts";
import { consoleConfigSchema, loadConsoleConfig } from "../../console/config.ts";

const dir = mkdtempSync(join(tmpdir(), "cfg-strict-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function write(text: string): string {
  const path = join(dir, `${n++}.toml`);
  writeFileSync(path, text);
  return path;
}

/** Asserts a ConfigError whose message names the file and matches `what`. */
function refuses(load: (path: string) => unknown, text: string, what: RegExp): void {
  const path = write(text);
  assert.throws(
    () => load(path),
    (e: Error) => {
      assert.ok(e instanceof ConfigError, e.message);
      assert.ok(e.message.includes(path), `names the file: ${e.message}`);
      assert.match(e.message, what);
      return true;
    },
  );
}

const MCR = '[server]\nlisten_addr = "127.0.0.1:0"\nplain_http = true\n[database]\npath = "mcr.db"\n[storage]\nlayers_path = "layers"\n';
const AGENT = '[server]\nlisten_addr = "127.0.0.1:0"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n[database]\npath = "agent.db"\n[auth]\ndisabled = true\n';
const CONSOLE = '[registry]\nurl = "https://mcr.example:8443"\n[[nodes]]\nname = "rift"\nurl = "https://rift:9444"\n';

const configs = [
  { name: "mcr.toml", base: MCR, prefix: "MCR", load: (p: string, env: NodeJS.ProcessEnv = {}) => loadRegistryConfig(p, env) },
  { name: "mcp-agent.toml", base: AGENT, prefix: "MCP", load: (p: string, env: NodeJS.ProcessEnv = {}) => loadAgentConfig(p, env) },
  { name: "mcp.toml", base: CONSOLE, prefix: "MCP", load: (p: string, env: NodeJS.ProcessEnv = {}) => loadConsoleConfig(p, env) },
];

for (const c of configs) {
  describe(`${c.name}: unknown names are errors`, () => {
    test("the base config loads", () => {
      assert.ok(c.load(write(c.base)));
    });

    test("a misspelled section", () => {
      refuses(c.load, `${c.base}[lgo]\nlevel = "debug"\n`, /unknown section \[lgo\]/);
    });

    test("a misspelled top-level key", () => {
      refuses(c.load, `verison = 2\n${c.base}`, /unknown key verison/);
    });
  });
}

describe("misspelled and nested keys name their section", () => {
  test("mcr.toml: [server] listen_adr, [storage] delete_enabeld, a table inside [server]", () => {
    refuses(loadRegistryConfig, MCR.replace("listen_addr", 'listen_addr = "127.0.0.1:0"\nlisten_adr'), /\[server\] unknown key listen_adr/);
    refuses(loadRegistryConfig, `${MCR}delete_enabeld = false\n`, /\[storage\] unknown key delete_enabeld/);
    refuses(loadRegistryConfig, `${MCR}[server.tls]\ncert = "x.pem"\n`, /\[server\] unknown key tls/);
  });

  test("mcp-agent.toml: [runtime] podmna, a table inside [placement]", () => {
    refuses(loadAgentConfig, `${AGENT}[runtime]\npodmna = "/usr/bin/podman"\n`, /\[runtime\] unknown key podmna/);
    refuses(loadAgentConfig, `${AGENT}[placement.smep]\nsheet = "x"\n`, /\[placement\] unknown key smep/);
  });

  test("mcp.toml: [registry] urll, a key inside a [[nodes]] entry", () => {
    refuses((p) => loadConsoleConfig(p, {}), CONSOLE.replace('url = "https://mcr', 'urll = "https://mcr'), /\[registry\] unknown key urll/);
    refuses((p) => loadConsoleConfig(p, {}), `${CONSOLE}addr = "https://rift:9444"\n`, /\[nodes\] 0 unknown key addr/);
  });

  test("an unknown section is reported before the required one it was meant to be", () => {
    refuses(loadRegistryConfig, MCR.replace("[database]", "[databse]"), /unknown section \[databse\]/);
  });
});

describe("environment overrides that name no key", () => {
  test("mcr: $MCR_SERVER_LISTEN_ADR and $MCR_SERVR_LISTEN_ADDR are refused, naming the variable", () => {
    const path = write(MCR);
    assert.throws(
      () => loadRegistryConfig(path, { MCR_SERVER_LISTEN_ADR: ":1" }),
      /\$MCR_SERVER_LISTEN_ADR names no config key \(\[server\] has no key listen_adr\)/,
    );
    assert.throws(
      () => loadRegistryConfig(path, { MCR_SERVR_LISTEN_ADDR: ":1" }),
      (e: Error) => e.message.includes(path) && /there is no section \[servr\]/.test(e.message),
    );
    // Not shaped like a key: left alone (scripts use $MCR_HOME, $MCR_BIN).
    assert.equal(loadRegistryConfig(path, { MCR_HOME: "/x", MCR_BIN: "/y", MCR_SERVER_LISTEN_ADDR: ":2" }).server.listen_addr, ":2");
  });

  test("mcp-agent: $MCP_AGENT_ is its own prefix: $MCP_AGENT_RUNTIME_PODMNA is refused, the console's $MCP_ variables are not its business", () => {
    const path = write(AGENT);
    assert.throws(
      () => loadAgentConfig(path, { MCP_AGENT_RUNTIME_PODMNA: "x" }),
      /\$MCP_AGENT_RUNTIME_PODMNA names no config key \(\[runtime\] has no key podmna\)/,
    );
    const cfg = loadAgentConfig(path, {
      MCP_REGISTRY_URL: "https://mcr:8443",
      MCP_CA_CERT: "/ca.pem",
      MCP_RUNTIME_PODMAN: "/not/the/agents",
      MCP_AGENT_RUNTIME_PODMAN: "/opt/podman",
    });
    assert.equal(cfg.runtime.podman, "/opt/podman");
  });

  test("mcp: $MCP_REGISTRY_URLL and $MCP_RUNTIME_PODMAN are refused; the agent's $MCP_AGENT_ variables are left alone", () => {
    const path = write(CONSOLE);
    assert.throws(
      () => loadConsoleConfig(path, { MCP_REGISTRY_URLL: "https://x" }),
      /\$MCP_REGISTRY_URLL names no config key \(\[registry\] has no key urll\)/,
    );
    assert.throws(
      () => loadConsoleConfig(path, { MCP_RUNTIME_PODMAN: "/opt/podman" }),
      /\$MCP_RUNTIME_PODMAN names no config key \(there is no section \[runtime\]\)/,
    );
    assert.equal(
      loadConsoleConfig(path, { MCP_AGENT_RUNTIME_PODMAN: "/opt/podman", MCP_AGENT_SERVER_LISTEN_ADDR: ":1", MCP_REGISTRY_URL: "https://other:8443" }).registry
        .url,
      "https://other:8443",
    );
  });
});

/** Every object schema reachable from `t`, with where it is. */
function objects(t: z.ZodTypeAny, where: string, out: [string, z.AnyZodObject][] = []): [string, z.AnyZodObject][] {
  if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) return objects(t.unwrap(), where, out);
  if (t instanceof z.ZodDefault) return objects(t._def.innerType, where, out);
  if (t instanceof z.ZodEffects) return objects(t.innerType(), where, out);
  if (t instanceof z.ZodArray) return objects(t.element, `${where}[]`, out);
  if (t instanceof z.ZodRecord) return objects(t.valueSchema, `${where}.*`, out);
  if (t instanceof z.ZodUnion) {
    (t.options as z.ZodTypeAny[]).forEach((o) => objects(o, where, out));
    return out;
  }
  if (t instanceof z.ZodObject) {
    out.push([where, t]);
    for (const [k, v] of Object.entries(t.shape as Record<string, z.ZodTypeAny>)) objects(v, `${where}.${k}`, out);
  }
  return out;
}

test("every table of the three schemas is strict (a key added later cannot be silently dropped)", () => {
  for (const [name, schema] of [
    ["mcr", registryConfigSchema],
    ["mcp-agent", agentConfigSchema],
    ["mcp", consoleConfigSchema],
  ] as const) {
    const found = objects(schema, name);
    assert.ok(found.length > 3, name);
    for (const [where, o] of found) assert.equal(o._def.unknownKeys, "strict", `${where} is not .strict()`);
  }
});
