// `mcr init --dir D`: the embedded default in one step — platform CA, server
// certificate, config, database and storage folders. Keys and the database are 0600.
// With --database-url and --s3-bucket the config names a PostgreSQL database and an S3
// bucket instead (docs/scale-out.md): both are checked and the schema is created at once.
// Everything that can be checked is checked before anything is created, and a failure
// after that removes what this run created: a refused init leaves no half-made home.
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { CreatedPaths } from "../../lib/fs/created-paths.ts";
import { redactUrl } from "../../lib/db/postgres.ts";
import { issueServerCert } from "../../lib/tls/certs.ts";
import { checkCA, defaultCaDir, loadOrCreateCA, publishCaCert } from "../../lib/tls/ca-dir.ts";
import { openRegistryDb } from "../db/open.ts";
import { AccountStore } from "../identity/accounts.ts";
import { generatePassword } from "../identity/passwords.ts";
import { signerPaths, signingRoot, writeSigner } from "./signer.ts";

export interface InitOptions {
  dir: string;
  listen: string;
  hostnames: string[];
  force: boolean;
  /** The platform CA's folder; default `<dir>-ca`. Never inside the home the server reads. */
  caDir?: string;
  /** PostgreSQL instead of the home's SQLite file. */
  databaseUrl?: string;
  /** An S3 bucket instead of the home's layers/ folder. */
  s3?: S3InitOptions;
}

export interface S3InitOptions {
  bucket: string;
  endpoint?: string;
  region?: string;
  prefix?: string;
  pathStyle?: boolean;
  credentialsFile?: string;
}

export interface InitResult {
  dir: string;
  config: string;
  caCert: string;
  /** The folder holding the CA key: keep it root-only, away from the server. */
  caDir: string;
  created: string[];
  /** The first admin account, created only when the database had none. */
  admin?: { username: string; password: string; passwordFile: string };
}

export async function initRegistry(opts: InitOptions): Promise<InitResult> {
  const dir = resolve(opts.dir);
  const config = join(dir, "mcr.toml");
  if (existsSync(config) && !opts.force) {
    throw new Error(
      `${config} already exists; mcr init will not overwrite an existing registry (to renew the certificate or add names: \`mcr cert renew --config ${config}\`; --force rewrites the config from the template)`,
    );
  }
  if (opts.databaseUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl)) throw new Error(`--database-url must be a postgres:// URL`);
  const caDir = resolve(opts.caDir ?? defaultCaDir(dir));
  const caExists = await checkCA(caDir, join(dir, "certs"));
  const s3 = opts.s3 && { ...opts.s3, credentialsFile: opts.s3.credentialsFile ? resolve(opts.s3.credentialsFile) : "" };
  if (s3) {
    // A wrong endpoint, bucket or credentials fail here rather than at the first push.
    const { S3BlobStore } = await import("../storage/s3.ts");
    const store = await S3BlobStore.open({
      endpoint: s3.endpoint ?? "",
      region: s3.region ?? "us-east-1",
      bucket: s3.bucket,
      prefix: s3.prefix ?? "",
      pathStyle: s3.pathStyle ?? false,
      credentialsFile: s3.credentialsFile,
      redirect: false,
      redirectTtlMs: 0,
    });
    store.close();
  }
  const undo = new CreatedPaths();
  try {
    return await createHome(opts, { dir, config, caDir, caExists, s3 }, undo);
  } catch (err) {
    const left = undo.removeAll();
    if (left.length > 0) (err as Error).message += ` (could not remove what init made: ${left.join(", ")})`;
    throw err;
  }
}

interface Checked {
  dir: string;
  config: string;
  caDir: string;
  /** False: this run creates the CA. */
  caExists: boolean;
  s3?: S3InitOptions & { credentialsFile: string };
}

async function createHome(opts: InitOptions, { dir, config, caDir, caExists, s3 }: Checked, undo: CreatedPaths): Promise<InitResult> {
  const certs = join(dir, "certs");
  const folders = [dir, certs, ...(s3 ? [] : [join(dir, "layers"), join(dir, "uploads")]), ...(opts.databaseUrl ? [] : [join(dir, "backups")])];
  for (const d of folders) undo.mkdir(d, 0o700);
  const created: string[] = [];

  // Reuse an existing CA so certificates already trusted by clients stay valid; its key lives
  // outside the home (the server never needs it). Clients find the certificate at certs/ca.pem.
  // A CA made by this run is removed on failure (nothing trusts it yet); an existing one never.
  if (!caExists) {
    undo.mkdir(caDir, 0o700);
    for (const f of ["ca.pem", "ca-key.pem"]) undo.willCreate(join(caDir, f));
  }
  const found = await loadOrCreateCA(caDir, certs);
  if (found.created) created.push(found.certPath, found.keyPath);
  const caCertPath = join(certs, "ca.pem");
  undo.willCreate(caCertPath);
  publishCaCert(found, caCertPath);
  // A CA from before node signers is re-issued so that it may sign one (same key).
  const ca = { ...found, certPem: (await signingRoot(found, dir)).root.certPem };
  const hosts = [...new Set(["localhost", "127.0.0.1", "::1", hostname(), ...opts.hostnames])];
  const server = await issueServerCert(ca, hosts);
  for (const f of ["key.pem", "cert.pem"]) undo.willCreate(join(certs, f));
  writeFileAtomic(join(certs, "key.pem"), server.keyPem, 0o600);
  writeFileAtomic(join(certs, "cert.pem"), server.certPem, 0o644);
  created.push(join(certs, "cert.pem"), join(certs, "key.pem"));

  // The node signer: the server signs joined nodes' certificates with it, never with the CA key.
  const signer = signerPaths(dir);
  undo.mkdir(dirname(signer.cert), 0o700);
  for (const f of [signer.cert, signer.key]) undo.willCreate(f);
  await writeSigner(dir, ca);
  created.push(signer.cert, signer.key);

  undo.willCreate(config);
  writeFileAtomic(config, configText(dir, opts.listen, hosts, opts.databaseUrl, s3), 0o600);
  created.push(config);

  const dbPath = join(dir, "mcr.db");
  if (!opts.databaseUrl) for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) undo.willCreate(f);
  const { db } = await openRegistryDb({ path: opts.databaseUrl ? "" : dbPath, url: opts.databaseUrl ?? "", pool_size: 2 });
  let admin: InitResult["admin"];
  try {
    const accounts = new AccountStore(db);
    if ((await accounts.list()).length === 0) {
      const password = generatePassword();
      await accounts.create("admin", password, "human", ["admin"]);
      // For scripts; the operator should change it (`mcr account passwd admin`) and delete the file.
      const passwordFile = join(dir, "admin.password");
      writeFileAtomic(passwordFile, `${password}\n`, 0o600);
      admin = { username: "admin", password, passwordFile };
      created.push(passwordFile);
    }
  } finally {
    await db.destroy();
  }
  if (!opts.databaseUrl) created.push(dbPath);
  writeFileSync(join(dir, ".gitignore"), "*\n");
  return { dir, config, caCert: caCertPath, caDir: ca.dir, created, admin };
}

function databaseSection(dir: string, url?: string): string {
  if (!url) return `[database]\npath = ${JSON.stringify(join(dir, "mcr.db"))}`;
  return `[database]
# PostgreSQL, shared by every replica (docs/scale-out.md): ${redactUrl(url)}.
# $MCR_DATABASE_URL overrides it, which keeps a password out of this file.
url = ${JSON.stringify(url)}
pool_size = 10`;
}

function storageSection(dir: string, s3?: S3InitOptions & { credentialsFile: string }): string {
  if (!s3) {
    return `[storage]
layers_path = ${JSON.stringify(join(dir, "layers"))}
uploads_path = ${JSON.stringify(join(dir, "uploads"))}
delete_enabled = true`;
  }
  return `[storage]
backend = "s3"
delete_enabled = true

[s3]
endpoint = ${JSON.stringify(s3.endpoint ?? "")}
region = ${JSON.stringify(s3.region ?? "us-east-1")}
bucket = ${JSON.stringify(s3.bucket)}
prefix = ${JSON.stringify(s3.prefix ?? "")}
path_style = ${s3.pathStyle ? "true" : "false"}
# AWS credentials file format; empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment.
credentials_file = ${JSON.stringify(s3.credentialsFile)}
# true: blob downloads are 307 redirects to presigned URLs (clients must reach the endpoint).
redirect = false`;
}

function configText(dir: string, listen: string, hosts: string[], databaseUrl?: string, s3?: S3InitOptions & { credentialsFile: string }): string {
  return `# mcr configuration written by \`mcr init\`. Reference: docs/configuration.md.
# Every key can be overridden by $MCR_<SECTION>_<KEY>; $PORT overrides the port of listen_addr.

[server]
listen_addr = ${JSON.stringify(listen)}
tls_cert = ${JSON.stringify(join(dir, "certs", "cert.pem"))}
tls_key = ${JSON.stringify(join(dir, "certs", "key.pem"))}
# Certificate names: ${hosts.join(", ")}
shutdown_timeout = "60s"

${databaseSection(dir, databaseUrl)}

${storageSection(dir, s3)}

[mcias]
# Empty server_url: mcr is its own identity service (accounts in mcr.db; see \`mcr account\`).
# Set it (and ca_cert) to use an external MCIAS-compatible server instead.
server_url = ""
service_name = "mcr"

[auth]
token_ttl = "12h"
logins_per_minute = 10

[audit]
# Older audit events are deleted every hour; "0" keeps them for ever.
retention = "90d"
# So are the oldest beyond this many (the table's bound by size); 0 = no cap.
max_rows = 1000000

[gc]
# Garbage collection keeps blobs uploaded, mounted, checked or referenced within this window.
grace = "1h"
# Upload sessions without a new chunk for this long are removed every hour; "0" keeps them.
stale_uploads = "24h"

[nodes]
# The node signer (made by \`mcr init\`, renewed by \`mcr cert signer\`) signs joined nodes' certificates.
signer_cert = ${JSON.stringify(signerPaths(dir).cert)}
signer_key = ${JSON.stringify(signerPaths(dir).key)}
# Node certificates live this long and renew themselves at two thirds of it.
cert_lifetime = "30d"

[log]
level = "info"
`;
}
