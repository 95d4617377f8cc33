// Node certificates for joined agents: the node signer (an intermediate CA made by the root
// CA, whose key only the registry holds), certificate requests made on the node (its key
// never leaves it), and the certificates the signer issues for them. ECDSA P-256, SHA-256.
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs this polyfill first.
import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";
import { ALG, exportKey, newKeys, serial, type PemPair } from "./certs.ts";
import { normalSerial } from "./serial.ts";

const importKey = async (pem: string) =>
  (await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(pem), ALG, false, ["sign"])) as unknown as CryptoKey;

/** SHA-256 of a certificate's DER, in hex: what a join token pins. */
export function certDigest(pem: string): string {
  return createHash("sha256")
    .update(Buffer.from(x509.PemConverter.decodeFirst(pem)))
    .digest("hex");
}

/** Every certificate of a PEM bundle, in order. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((c) => (c.endsWith("\n") ? c : `${c}\n`)) ?? [];
}

/**
 * The node signer: a CA certificate issued by the root `ca`, limited to signing end-entity
 * certificates (path length 0), living `lifetimeMs`.
 */
export async function createNodeSigner(ca: PemPair, lifetimeMs: number): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=Metacircular Node Signer",
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(Math.min(now + lifetimeMs, caCert.notAfter.getTime())),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKey(keys.privateKey) };
}

/** A new key and a certificate request for it, both made here: the key is never sent. */
export async function createNodeRequest(node: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${node}`, keys, signingAlgorithm: ALG });
  return { keyPem: await exportKey(keys.privateKey), csrPem: csr.toString("pem") };
}

export class CertRequestError extends Error {
  override name = "CertRequestError";
}

export interface IssuedNodeCert {
  /** The node's certificate followed by the signer's: what its TLS server presents. */
  chainPem: string;
  serial: string;
  notAfter: Date;
}

/** Throws CertRequestError unless `csrPem` is a P-256 request signed by its own key. */
export async function checkNodeRequest(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CertRequestError(`the certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`);
  }
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== "ECDSA" || alg.namedCurve !== "P-256") throw new CertRequestError("the certificate request must be for an ECDSA P-256 key");
  if (!(await csr.verify())) throw new CertRequestError("the certificate request's signature does not verify");
  return csr;
}

/**
 * Signs the public key of `csrPem` for `node`, with the names the platform registered for it
 * (never the names the request asks for), for server and client use, living `lifetimeMs` but
 * never past the signer. A request whose signature does not verify is refused: whoever sent it
 * does not hold its key.
 */
export async function issueNodeCert(
  signer: PemPair,
  csrPem: string,
  node: string,
  hosts: string[],
  lifetimeMs: number,
  now = Date.now(),
): Promise<IssuedNodeCert> {
  const csr = await checkNodeRequest(csrPem);
  const signerCert = new x509.X509Certificate(signer.certPem);
  const notAfter = new Date(Math.min(now + lifetimeMs, signerCert.notAfter.getTime()));
  if (notAfter.getTime() <= now) throw new Error("the node signer has expired: renew it (`mcr cert renew`)");
  const names = [...new Set(hosts)].map((h) => ({ type: isIP(h) ? "ip" : "dns", value: h }) as x509.JsonGeneralName);
  const sn = serial();
  const publicKey = await csr.publicKey.export(ALG, ["verify"]);
  // Valid a little before now for clocks behind ours; a small share of a short lifetime, so
  // that the node's "two thirds of the validity" stays close to two thirds of the lifetime.
  const skew = Math.min(60_000, Math.floor(lifetimeMs / 20));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: sn,
    subject: `CN=${node}`,
    issuer: signerCert.subject,
    notBefore: new Date(now - skew),
    notAfter,
    signingAlgorithm: ALG,
    publicKey,
    signingKey: await importKey(signer.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(signerCert),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { chainPem: `${cert.toString("pem")}\n${signer.certPem.trim()}\n`, serial: normalSerial(sn), notAfter };
}
