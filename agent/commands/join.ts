// `mcp-agent join --token T https://<registry>:8443 --dir D`: makes this node part of the
// platform with a one-time token (docs/nodes.md). The registry's CA is fetched and checked
// against the token's digest before anything is sent; the node's key is made here and never
// leaves it; the registry answers the certificate, the CA and the node's own registry account.
// Then the config is written and `mcp-agent server` can start. No CA key is ever on this node.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { parseJoinToken } from "../../lib/nodes/join-token.ts";
import { certDigest, createNodeRequest } from "../../lib/tls/node-certs.ts";
import { containerPrefixProblem } from "../config-schema.ts";
import { answerJson, httpsCall } from "../registry/node-http.ts";
import { agentMigrations } from "../state/migrations.ts";
import type { AgentDatabase } from "../state/schema.ts";
import { configText } from "./init.ts";

export interface JoinOptions {
  token: string;
  /** https://host:port of the registry. */
  registryUrl: string;
  dir: string;
  /** Default: the port of the node's registered URL, on that address when it is one, else on every address. */
  listen?: string;
  containerPrefix?: string;
  force: boolean;
}

export interface JoinResult {
  dir: string;
  config: string;
  node: string;
  url: string;
  certExpiresAt: string;
}

interface JoinAnswer {
  node: string;
  url: string;
  certificate: string;
  ca: string;
  cert_expires_at: string;
  account: { username: string; password: string };
}

export async function joinPlatform(o: JoinOptions): Promise<JoinResult> {
  const token = parseJoinToken(o.token);
  let registry: URL;
  try {
    registry = new URL(o.registryUrl);
  } catch {
    throw new Error(`${JSON.stringify(o.registryUrl)} is not the registry's URL (https://host:port)`);
  }
  if (registry.protocol !== "https:") throw new Error(`the registry's URL must be https://, not ${registry.protocol}//`);
  const prefixProblem = containerPrefixProblem(o.containerPrefix ?? "");
  if (prefixProblem) throw new Error(`--container-prefix: ${prefixProblem}`);
  const dir = resolve(o.dir);
  const config = join(dir, "mcp-agent.toml");
  if (existsSync(config) && !o.force) throw new Error(`${config} already exists; use --force to join again into it`);
  const base = registry.origin;

  // The CA, unverified, only to compare with the token: nothing is sent until it matches.
  const ca = await httpsCall(`${base}/v1/nodes/ca`, { method: "GET", ca: null }).catch((err: Error) => {
    throw new Error(`cannot reach the registry at ${base}: ${err.message}`);
  });
  if (ca.status !== 200) throw new Error(`${base}/v1/nodes/ca answered HTTP ${ca.status}: is this the platform's registry (mcr)?`);
  const digest = certDigest(ca.body);
  if (digest !== token.caDigest) {
    throw new Error(
      `the registry at ${base} presents a CA whose digest is ${digest}, not the ${token.caDigest} the token names: it is not the platform that made the token (or something stands between); nothing was sent`,
    );
  }

  const request = await createNodeRequest("mcp-agent");
  const answer = answerJson<JoinAnswer>(
    await httpsCall(`${base}/v1/nodes/join`, { method: "POST", ca: ca.body, body: { token: o.token.trim(), csr: request.csrPem } }),
    `joining through ${base}`,
  );

  const certs = join(dir, "certs");
  mkdirSync(certs, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(certs, "key.pem"), request.keyPem, 0o600);
  writeFileAtomic(join(certs, "cert.pem"), answer.certificate, 0o644);
  writeFileAtomic(join(certs, "ca.pem"), answer.ca, 0o644);
  const passwordFile = join(dir, "registry.password");
  writeFileAtomic(passwordFile, `${answer.account.password}\n`, 0o600);
  const nodeUrl = new URL(answer.url);
  const host = nodeUrl.hostname.replace(/^\[|\]$/g, "");
  const listen = o.listen ?? `${isIP(host) === 4 ? host : isIP(host) === 6 ? `[${host}]` : "0.0.0.0"}:${nodeUrl.port || "443"}`;
  const text = configText(
    dir,
    answer.node,
    {
      listen,
      identityUrl: base,
      registry: registry.host,
      containerPrefix: o.containerPrefix,
      joined: { username: answer.account.username, passwordFile },
    },
    join(certs, "ca.pem"),
  );
  writeFileAtomic(config, text, 0o600);
  const { db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
  await db.destroy();
  writeFileSync(join(dir, ".gitignore"), "*\n");
  return { dir, config, node: answer.node, url: answer.url, certExpiresAt: answer.cert_expires_at };
}
