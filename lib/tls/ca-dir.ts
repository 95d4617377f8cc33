// Where the platform CA lives: a folder of its own (ca.pem, ca-key.pem), apart
// from every daemon's home, so that no network-facing server can read the key.
// Only `init` and certificate commands open it.
import { copyFileSync, existsSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../fs/atomic.ts";
import { checkCaPair, createCA, type PemPair } from "./certs.ts";

export interface PlatformCA extends PemPair {
  dir: string;
  certPath: string;
  keyPath: string;
  /** True when this call made a new CA. */
  created: boolean;
}

/** The CA folder beside a daemon home when none is given: /srv/mcr → /srv/mcr-ca. */
export const defaultCaDir = (home: string): string => `${resolve(home).replace(/\/+$/, "")}-ca`;

/**
 * Loads the CA from `dir`, or creates it there (folder 0700, key 0600). A `legacyCerts` folder
 * (a home made before the CA moved out) hands its CA over: the key leaves the home. A ca.pem
 * without its key is refused, in `dir` or in `legacyCerts` (the copy clients trust): signing
 * with a fresh CA that clients do not trust helps no one.
 */
export async function loadOrCreateCA(dir: string, legacyCerts?: string): Promise<PlatformCA> {
  const found = loadCA(dir, legacyCerts);
  if (found) return found;
  dir = resolve(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createCA("Metacircular Platform CA");
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  writeFileAtomic(keyPath, ca.keyPem, 0o600);
  writeFileAtomic(certPath, ca.certPem, 0o644);
  return { dir, certPath, keyPath, ...ca, created: true };
}

/**
 * Where the CA's files are: in `dir`, in `legacyCerts` (a home made before the CA moved
 * out, when `dir` has none), or nowhere (undefined). Throws for a certificate without its
 * key or a key without its certificate. Reads only.
 */
function locateCA(dir: string, legacyCerts?: string): { certPath: string; keyPath: string; legacy: boolean } | undefined {
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  if (!existsSync(certPath) && !existsSync(keyPath) && legacyCerts && existsSync(join(legacyCerts, "ca.pem"))) {
    if (!existsSync(join(legacyCerts, "ca-key.pem"))) {
      throw new Error(
        `${join(legacyCerts, "ca.pem")} exists but its key is neither in ${dir} nor in ${legacyCerts}: pass --ca-dir with the platform CA's folder (or restore it); a new CA would leave every client that trusts this ca.pem unable to connect`,
      );
    }
    return { certPath: join(legacyCerts, "ca.pem"), keyPath: join(legacyCerts, "ca-key.pem"), legacy: true };
  }
  const hasCert = existsSync(certPath);
  const hasKey = existsSync(keyPath);
  if (hasCert && !hasKey)
    throw new Error(
      `${certPath} exists but its key ${keyPath} does not: restore the key, or move the CA folder away to start a new CA (clients must then trust the new ca.pem)`,
    );
  if (!hasCert && hasKey) throw new Error(`${keyPath} exists without ${certPath}: restore the certificate or remove the key`);
  return hasCert ? { certPath, keyPath, legacy: false } : undefined;
}

/**
 * What loadOrCreateCA(dir, legacyCerts) would refuse, refused without creating or moving
 * anything; a CA whose files do not parse or do not belong together is refused too. True
 * when there is a CA to use, false when one would be created.
 */
export async function checkCA(dir: string, legacyCerts?: string): Promise<boolean> {
  const found = locateCA(resolve(dir), legacyCerts);
  if (!found) return false;
  try {
    await checkCaPair({ certPem: readFileSync(found.certPath, "utf8"), keyPem: readFileSync(found.keyPath, "utf8") });
  } catch (err) {
    throw new Error(
      `${found.certPath} and ${found.keyPath} are not a usable CA (${(err as Error).message}): restore them, or move them away to start a new CA (clients must then trust the new ca.pem)`,
    );
  }
  return true;
}

/** The CA in `dir` (after a `legacyCerts` handover), or undefined when there is none at all. */
export function loadCA(dir: string, legacyCerts?: string): PlatformCA | undefined {
  dir = resolve(dir);
  const found = locateCA(dir, legacyCerts);
  if (!found) return undefined;
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  if (found.legacy) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(found.certPath, certPath);
    writeFileAtomic(keyPath, readFileSync(found.keyPath), 0o600);
    unlinkSync(found.keyPath);
  }
  return { dir, certPath, keyPath, certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8"), created: false };
}

/** Copies the CA certificate (public) to where a daemon's clients look for it. */
export function publishCaCert(ca: PlatformCA, path: string): void {
  if (existsSync(path) && readFileSync(path, "utf8") === ca.certPem) return;
  writeFileAtomic(path, ca.certPem, 0o644);
}
