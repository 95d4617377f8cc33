// `mcp-agent init --dir D`: a config, a TLS certificate signed by the platform
// CA (mcr init's, so one CA is trusted everywhere) and the state database.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { issueServerCert } from "../../lib/tls/certs.ts";
import { defaultCaDir, loadOrCreateCA, publishCaCert } from "../../lib/tls/ca-dir.ts";
import { containerPrefixProblem } from "../config-schema.ts";
import { agentMigrations } from "../state/migrations.ts";
import type { AgentDatabase } from "../state/schema.ts";

export interface AgentInitOptions {
  dir: string;
  listen: string;
  hostnames: string[];
  /** Platform CA certificate and key (e.g. an mcr home's certs/ca.pem and ca-key.pem); a new CA when absent. */
  caCert?: string;
  caKey?: string;
  /** The platform CA's folder (mcr init's `<mcr home>-ca`); default `<dir>-ca`, made when missing. */
  caDir?: string;
  identityUrl?: string;
  identityCa?: string;
  registry?: string;
  registryCa?: string;
  node?: string;
  /** [runtime] container_prefix: set when another agent shares this machine's podman (each `mcp up` home has one). */
  containerPrefix?: string;
  force: boolean;
}

export async function initAgent(o: AgentInitOptions): Promise<{ dir: string; config: string; caCert: string }> {
  const dir = resolve(o.dir);
  const prefixProblem = containerPrefixProblem(o.containerPrefix ?? "");
  if (prefixProblem) throw new Error(`--container-prefix: ${prefixProblem}`);
  const config = join(dir, "mcp-agent.toml");
  if (existsSync(config) && !o.force) throw new Error(`${config} already exists; use --force to rewrite its config and certificate`);
  const certs = join(dir, "certs");
  mkdirSync(certs, { recursive: true, mode: 0o700 });
  const caCertPath = o.caCert ? resolve(o.caCert) : join(certs, "ca.pem");
  let ca: Parameters<typeof issueServerCert>[0];
  if (o.caCert && o.caKey) ca = { certPem: readFileSync(o.caCert, "utf8"), keyPem: readFileSync(o.caKey, "utf8") };
  else if (o.caCert || o.caKey) throw new Error("--ca-cert and --ca-key go together");
  else {
    // The key stays in the CA folder; the agent's home gets only the certificate.
    const platformCa = await loadOrCreateCA(o.caDir ?? defaultCaDir(dir), certs);
    publishCaCert(platformCa, caCertPath);
    ca = platformCa;
  }
  const node = o.node ?? hostname();
  const pair = await issueServerCert(ca, [...new Set(["localhost", "127.0.0.1", "::1", hostname(), node, ...o.hostnames])]);
  writeFileAtomic(join(certs, "key.pem"), pair.keyPem, 0o600);
  writeFileAtomic(join(certs, "cert.pem"), pair.certPem, 0o644);
  writeFileAtomic(config, configText(dir, node, o, caCertPath), 0o600);
  const { db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
  await db.destroy();
  writeFileSync(join(dir, ".gitignore"), "*\n");
  return { dir, config, caCert: caCertPath };
}

export interface ConfigTextOptions {
  listen: string;
  identityUrl?: string;
  identityCa?: string;
  registry?: string;
  registryCa?: string;
  containerPrefix?: string;
  /** A joined node: its account, and its certificate renews itself. */
  joined?: { username: string; passwordFile: string };
}

export function configText(dir: string, node: string, o: ConfigTextOptions, caCertPath: string): string {
  const q = JSON.stringify;
  const account = o.joined
    ? `username = ${q(o.joined.username)}\npassword_file = ${q(o.joined.passwordFile)}`
    : `# username = "agent-${node}"\n# password_file = "${join(dir, "registry.password")}"`;
  return `# mcp-agent configuration written by \`mcp-agent ${o.joined ? "join" : "init"}\`. Reference: docs/agent.md.
# Every key can be overridden by $MCP_<SECTION>_<KEY>; $PORT overrides the port of listen_addr.

[server]
listen_addr = ${q(o.listen)}
tls_cert = ${q(join(dir, "certs", "cert.pem"))}
tls_key = ${q(join(dir, "certs", "key.pem"))}
${o.joined ? "# Joined with a token: the certificate renews itself at two thirds of its life.\nrenew_cert = true\n" : ""}
[database]
path = ${q(join(dir, "agent.db"))}

[node]
name = ${q(node)}

[mcias]
# The identity server that validates callers' tokens (mcr's embedded one by default).
server_url = ${q(o.identityUrl ?? "")}
ca_cert = ${q(o.identityCa ? resolve(o.identityCa) : o.identityUrl ? caCertPath : "")}

[registry]
host = ${q(o.registry ?? "")}
ca_cert = ${q(o.registryCa ? resolve(o.registryCa) : o.registry ? caCertPath : "")}
${account}

[runtime]
# Put before every container name; agents that share a podman need one each (docs/agent.md).
container_prefix = ${q(o.containerPrefix ?? "")}
reconcile_interval = "30s"
stop_timeout = 10
publish_address = "127.0.0.1"

[ports]
range_start = 10000
range_end = 60000

[storage]
root = "/srv"

[log]
level = "info"
`;
}
