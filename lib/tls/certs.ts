// The platform CA and server certificates for the embedded default (`mcr init`).
// X.509 is built by @peculiar/x509 on Node's WebCrypto: ECDSA P-256, SHA-256.
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs this polyfill.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** A positive 16-byte serial number (the top bit clear, as RFC 5280 wants). */
export function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

export async function exportKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

export async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
}

export async function createCA(commonName: string, validDays = 3650): Promise<PemPair> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      // Path length 1: the CA signs the node signer, which signs only nodes.
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKey(keys.privateKey) };
}

/** The path length a CA certificate allows below it (undefined: no limit). */
export function caPathLength(certPem: string): number | undefined {
  const bc = new x509.X509Certificate(certPem).getExtension(x509.BasicConstraintsExtension);
  return bc?.pathLength;
}

/**
 * The same CA (subject, key, expiry) re-issued with path length 1, for a CA made before node
 * signers: its old certificate (path length 0) lets it sign servers but no intermediate CA.
 * Clients must be given the new certificate.
 */
export async function reissueCA(ca: PemPair): Promise<PemPair> {
  const old = new x509.X509Certificate(ca.certPem);
  const privateKey = (await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), ALG, true, ["sign"])) as unknown as CryptoKey;
  const publicKey = await old.publicKey.export(ALG, ["verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: old.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: old.notAfter,
    signingAlgorithm: ALG,
    keys: { privateKey, publicKey } as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: ca.keyPem };
}

/** Issues a TLS server certificate for `hosts` (DNS names and IP addresses), signed by `ca`. */
export async function issueServerCert(ca: PemPair, hosts: string[], validDays = 825): Promise<PemPair> {
  if (hosts.length === 0) throw new Error("a server certificate needs at least one host name");
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), ALG, false, ["sign"]);
  const keys = await newKeys();
  const now = Date.now();
  const names = [...new Set(hosts)].map((h) => ({ type: isIP(h) ? "ip" : "dns", value: h }) as x509.JsonGeneralName);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey as unknown as CryptoKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKey(keys.privateKey) };
}

/**
 * Throws unless `ca` is a CA certificate and the private key that signs for it: a CA whose
 * files do not parse, or whose key belongs to another certificate, would only fail later or
 * issue certificates no client can verify.
 */
export async function checkCaPair(ca: PemPair): Promise<void> {
  const cert = new x509.X509Certificate(ca.certPem);
  const key = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), ALG, true, ["sign"]);
  const priv = await webcrypto.subtle.exportKey("jwk", key);
  const pub = await webcrypto.subtle.exportKey("jwk", (await cert.publicKey.export(ALG, ["verify"])) as unknown as webcrypto.CryptoKey);
  if (priv.x !== pub.x || priv.y !== pub.y) throw new Error("the key does not belong to the certificate");
}
