// The node signer: the intermediate CA that signs joined nodes' certificates, in the
// registry's home (`signer/signer.pem`, `signer/signer-key.pem`, 0600), so the server can
// sign without ever reading the root CA key. `mcr init` makes it; `mcr cert signer` (run by
// root, daily, from mcr-signer.timer) makes a new one from the root CA once a third of its
// life is left. The server reads the files at each signing: a new signer counts at once.
import { X509Certificate } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { defaultCaDir, loadCA, publishCaCert, type PlatformCA } from "../../lib/tls/ca-dir.ts";
import { caPathLength, reissueCA, type PemPair } from "../../lib/tls/certs.ts";
import { createNodeSigner } from "../../lib/tls/node-certs.ts";
import { loadRegistryConfig } from "../config.ts";

/** How long a signer lives: node certificates are cut short to it, and it is renewed at two thirds. */
export const SIGNER_LIFETIME_MS = 90 * 86_400_000;

export const signerPaths = (home: string) => ({ cert: join(home, "signer", "signer.pem"), key: join(home, "signer", "signer-key.pem") });

/** Writes a new signer into `home`/signer, owned like `home` (the server's user) when run as root. */
export async function writeSigner(home: string, ca: PemPair, lifetimeMs = SIGNER_LIFETIME_MS): Promise<{ cert: string; key: string; notAfter: string }> {
  const p = signerPaths(home);
  mkdirSync(dirname(p.cert), { recursive: true, mode: 0o700 });
  const signer = await createNodeSigner(ca, lifetimeMs);
  writeFileAtomic(p.key, signer.keyPem, 0o600);
  writeFileAtomic(p.cert, signer.certPem, 0o600);
  const owner = statSync(home);
  if (process.getuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) for (const f of [dirname(p.cert), p.key, p.cert]) chownSync(f, owner.uid, owner.gid);
  return { ...p, notAfter: new Date(new X509Certificate(signer.certPem).validTo).toISOString() };
}

export interface SignerRenewal {
  cert: string;
  renewed: boolean;
  notAfter: string;
  /** Why it was (or was not) renewed. */
  reason: string;
}

/** `mcr cert signer`: a new signer when there is none, a third of its life is left, or `force`. */
/**
 * The CA to make a signer with. A CA made before node signers has path length 0 and may sign
 * no intermediate: its certificate is re-issued (same subject, key and expiry) with path length
 * 1, in the CA folder and the home's certs/ca.pem. Clients holding the old certificate still
 * verify mcr's server certificate, which the same key signed; node certificates need the new one.
 */
export async function signingRoot(ca: PlatformCA, home: string): Promise<{ root: PemPair; upgraded: boolean }> {
  if (caPathLength(ca.certPem) !== 0) return { root: ca, upgraded: false };
  const root = await reissueCA(ca);
  writeFileAtomic(ca.certPath, root.certPem, 0o644);
  publishCaCert({ ...ca, certPem: root.certPem }, join(home, "certs", "ca.pem"));
  return { root, upgraded: true };
}

export async function renewSigner(o: { config: string; caDir?: string; force?: boolean; now?: number }): Promise<SignerRenewal> {
  const cfg = loadRegistryConfig(o.config);
  const home = dirname(resolve(o.config));
  const cert = cfg.nodes.signer_cert || signerPaths(home).cert;
  if (cfg.nodes.signer_cert && dirname(cert) !== join(home, "signer")) {
    throw new Error(`${o.config}: [nodes] signer_cert is ${cert}, not in ${join(home, "signer")}: renew that signer by hand or use the default place`);
  }
  const now = o.now ?? Date.now();
  let reason = "there was none";
  if (existsSync(cert)) {
    const current = new X509Certificate(readFileSync(cert));
    const from = Date.parse(current.validFrom);
    const to = Date.parse(current.validTo);
    const left = to - now;
    if (!o.force && left > (to - from) / 3)
      return { cert, renewed: false, notAfter: new Date(to).toISOString(), reason: `${Math.floor(left / 86_400_000)} days of its life are left` };
    reason = o.force ? "--force" : left <= 0 ? "it had expired" : "a third of its life was left";
  }
  const caDir = resolve(o.caDir ?? defaultCaDir(home));
  const ca = loadCA(caDir, join(home, "certs"));
  if (!ca) throw new Error(`no platform CA in ${caDir} (ca.pem, ca-key.pem): pass --ca-dir with the folder \`mcr init\` made`);
  const { root, upgraded } = await signingRoot(ca, home);
  if (upgraded)
    reason +=
      "; the platform CA certificate was re-issued with path length 1 (same key: clients that trust the old one still reach mcr; give them the new ca.pem for nodes)";
  const written = await writeSigner(home, root);
  return { cert: written.cert, renewed: true, notAfter: written.notAfter, reason };
}
