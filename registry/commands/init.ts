// `mcr init --dir D`: the embedded default in one step — platform CA, server
// certificate, config, database and storage folders. Keys and the database are 0600.
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { createCA, issueServerCert } from "../../lib/tls/certs.ts";
import { registryMigrations } from "../db/migrations.ts";
import type { RegistryDatabase } from "../db/schema.ts";

export interface InitOptions {
  dir: string;
  listen: string;
  hostnames: string[];
  force: boolean;
}

export interface InitResult {
  dir: string;
  config: string;
  caCert: string;
  created: string[];
}

export async function initRegistry(opts: InitOptions): Promise<InitResult> {
  const dir = resolve(opts.dir);
  const config = join(dir, "mcr.toml");
  if (existsSync(config) && !opts.force) {
    throw new Error(`${config} already exists; mcr init will not overwrite an existing registry (use --force to rewrite its config and certificates)`);
  }
  const certs = join(dir, "certs");
  for (const d of [dir, certs, join(dir, "layers"), join(dir, "uploads"), join(dir, "backups")]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const created: string[] = [];

  // Reuse an existing CA so certificates already trusted by clients stay valid.
  const caCertPath = join(certs, "ca.pem");
  const caKeyPath = join(certs, "ca-key.pem");
  const ca = existsSync(caCertPath) && existsSync(caKeyPath)
    ? { certPem: readFileSync(caCertPath, "utf8"), keyPem: readFileSync(caKeyPath, "utf8") }
    : await createCA("Metacircular Platform CA");
  if (!existsSync(caCertPath)) {
    writeFileAtomic(caKeyPath, ca.keyPem, 0o600);
    writeFileAtomic(caCertPath, ca.certPem, 0o644);
    created.push(caCertPath, caKeyPath);
  }
  const hosts = [...new Set(["localhost", "127.0.0.1", "::1", hostname(), ...opts.hostnames])];
  const server = await issueServerCert(ca, hosts);
  writeFileAtomic(join(certs, "key.pem"), server.keyPem, 0o600);
  writeFileAtomic(join(certs, "cert.pem"), server.certPem, 0o644);
  created.push(join(certs, "cert.pem"), join(certs, "key.pem"));

  writeFileAtomic(config, configText(dir, opts.listen, hosts), 0o600);
  created.push(config);

  const dbPath = join(dir, "mcr.db");
  const { db } = await openSqlite<RegistryDatabase>(dbPath, registryMigrations);
  await db.destroy();
  created.push(dbPath);
  writeFileSync(join(dir, ".gitignore"), "*\n");
  return { dir, config, caCert: caCertPath, created };
}

function configText(dir: string, listen: string, hosts: string[]): string {
  return `# mcr configuration written by \`mcr init\`. Reference: docs/configuration.md.
# Every key can be overridden by $MCR_<SECTION>_<KEY>; $PORT overrides the port of listen_addr.

[server]
listen_addr = ${JSON.stringify(listen)}
tls_cert = ${JSON.stringify(join(dir, "certs", "cert.pem"))}
tls_key = ${JSON.stringify(join(dir, "certs", "key.pem"))}
# Certificate names: ${hosts.join(", ")}
shutdown_timeout = "60s"

[database]
path = ${JSON.stringify(join(dir, "mcr.db"))}

[storage]
layers_path = ${JSON.stringify(join(dir, "layers"))}
uploads_path = ${JSON.stringify(join(dir, "uploads"))}
delete_enabled = true

[auth]
# This build has no identity service yet: every client may pull, push and delete.
# Keep the listener on loopback (or behind a proxy that authenticates) until it does.
disabled = true

[log]
level = "info"
`;
}
