// `mcr cert renew --config F [--hostname H ...]`: a new server certificate from the
// platform CA, with the current certificate's names plus any new ones. It reads the
// config only to find the certificate and never writes it (`mcr init --force` rewrites
// mcr.toml from its template).
import { X509Certificate } from "node:crypto";
import { chownSync, existsSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { isIP } from "node:net";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { defaultCaDir, loadCA } from "../../lib/tls/ca-dir.ts";
import { issueServerCert } from "../../lib/tls/certs.ts";
import { loadRegistryConfig } from "../config.ts";

export interface RenewOptions {
  config: string;
  /** Names to add to those of the current certificate. */
  hostnames: string[];
  /** The platform CA's folder; default `<config's folder>-ca`, as `mcr init` made it. */
  caDir?: string;
}

export interface RenewResult {
  cert: string;
  key: string;
  hosts: string[];
  notAfter: string;
  caDir: string;
}

/** The names init puts in every certificate. */
const DEFAULT_HOSTS = () => ["localhost", "127.0.0.1", "::1", hostname()];

export async function renewServerCert(o: RenewOptions): Promise<RenewResult> {
  const cfg = loadRegistryConfig(o.config);
  const { tls_cert: certPath, tls_key: keyPath } = cfg.server;
  if (!certPath || !keyPath)
    throw new Error(`${o.config}: [server] tls_cert and tls_key are not set (plain_http: the TLS proxy in front of mcr holds the certificate)`);
  const certsDir = dirname(certPath);
  const caDir = resolve(o.caDir ?? defaultCaDir(dirname(resolve(o.config))));
  // The home's ca.pem hands over an old home's CA key, and is refused when its key is lost.
  const ca = loadCA(caDir, certsDir);
  if (!ca) throw new Error(`no platform CA in ${caDir} (ca.pem, ca-key.pem): pass --ca-dir with the folder \`mcr init\` made`);
  const caCert = new X509Certificate(ca.certPem);

  const current = existsSync(certPath) ? new X509Certificate(readFileSync(certPath)) : undefined;
  if (current && !current.verify(caCert.publicKey)) {
    throw new Error(`${certPath} was not issued by the CA in ${caDir}: clients trust its issuer, so pass --ca-dir with that CA's folder`);
  }
  const published = join(certsDir, "ca.pem");
  if (existsSync(published) && !new X509Certificate(readFileSync(published)).verify(caCert.publicKey)) {
    throw new Error(`${published} (the CA clients trust) is not the CA in ${caDir}: pass --ca-dir with the platform CA's folder`);
  }

  const hosts = unique([...DEFAULT_HOSTS(), ...(current ? namesOf(current) : []), ...o.hostnames]);
  const pair = await issueServerCert(ca, hosts);
  // Written by root (the CA folder is root-only) for a server that runs as its own user:
  // the new files keep the owner of the ones they replace.
  replaceKeepingOwner(keyPath, pair.keyPem, 0o600);
  replaceKeepingOwner(certPath, pair.certPem, 0o644);
  return { cert: certPath, key: keyPath, hosts, notAfter: new Date(new X509Certificate(pair.certPem).validTo).toISOString(), caDir };
}

/** DNS names and IP addresses of a certificate's subjectAltName. */
export function namesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(", ")
    .map((entry) => /^(DNS|IP Address):(.+)$/.exec(entry))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[2]!);
}

/** Drops duplicates, comparing IPv6 addresses in one spelling (`::1` = `0:0:0:0:0:0:0:1`). */
function unique(hosts: string[]): string[] {
  const seen = new Map<string, string>();
  for (const h of hosts) {
    const key = isIP(h) === 6 ? new URL(`http://[${h}]/`).hostname.slice(1, -1) : h.toLowerCase();
    if (!seen.has(key)) seen.set(key, isIP(h) === 6 ? key : h);
  }
  return [...seen.values()];
}

function replaceKeepingOwner(path: string, data: string, mode: number): void {
  const before = existsSync(path) ? statSync(path) : undefined;
  writeFileAtomic(path, data, mode);
  if (before && process.getuid?.() === 0 && (before.uid !== 0 || before.gid !== 0)) chownSync(path, before.uid, before.gid);
}
