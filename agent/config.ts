// Loads mcp-agent's configuration (schema in config-schema.ts); overrides are
// $MCP_AGENT_<SECTION>_<KEY>, a prefix of the agent's own.
import { dirname } from "node:path";
import type { z } from "zod";
import { loadConfig } from "../lib/config/load.ts";
import { agentConfigSchema } from "./config-schema.ts";

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function loadAgentConfig(path: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const cfg = loadConfig({
    path,
    schema: agentConfigSchema,
    envPrefix: "MCP_AGENT",
    env,
    pathKeys: [
      "server.tls_cert",
      "server.tls_key",
      "database.path",
      "mcias.ca_cert",
      "registry.ca_cert",
      "registry.password_file",
      "runtime.socket",
      "runtime.containers_conf",
      "runtime.storage_conf",
      "storage.root",
      "storage.mount_root",
      "placement.home_root",
      "proxy.config_file",
      "proxy.master_socket",
      "proxy.cert_path",
      "dns.api_key_file",
      "dns.ca_cert",
    ],
  });
  if (cfg.storage.allowed_volume_roots.length === 0) cfg.storage.allowed_volume_roots = [cfg.storage.root, cfg.storage.mount_root];
  if (cfg.dns && !cfg.dns.zone) cfg.dns.zone = cfg.node.zone;
  return cfg;
}

/** The agent's own data folder (never on NFS): env files, registry auth, certs. */
export function dataDir(cfg: AgentConfig): string {
  return dirname(cfg.database.path);
}
