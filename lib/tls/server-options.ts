// TLS settings every server of the platform uses: TLS 1.3 only.
import { readFileSync } from "node:fs";
import type { SecureContextOptions, TlsOptions } from "node:tls";

export const MIN_TLS_VERSION = "TLSv1.3" as const;

/**
 * The TLS 1.3 suites in the server's order of preference: AES-128-GCM first, as nginx and Go
 * servers choose, then AES-256-GCM and ChaCha20. Node's own order puts AES-256 first, which
 * costs about 40% more CPU per byte on every blob download for no gain that matters here
 * (AES-128 is TLS 1.3's mandatory suite): mcr served 916 MB/s over one TLS stream beside
 * nginx's 1405 with it (docs/performance.md).
 */
export const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

export function serverTlsOptions(certPath: string, keyPath: string): TlsOptions & SecureContextOptions {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certPath);
  } catch (err) {
    throw new Error(`cannot read TLS certificate ${certPath}: ${(err as Error).message}`);
  }
  try {
    key = readFileSync(keyPath);
  } catch (err) {
    throw new Error(`cannot read TLS key ${keyPath}: ${(err as Error).message}`);
  }
  return { cert, key, minVersion: MIN_TLS_VERSION, ciphers: TLS13_SUITES, honorCipherOrder: true };
}
