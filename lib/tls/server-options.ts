// TLS settings every server of the platform uses: TLS 1.3 only.
import { readFileSync } from "node:fs";
import type { SecureContextOptions, TlsOptions } from "node:tls";

export const MIN_TLS_VERSION = "TLSv1.3" as const;

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
  return { cert, key, minVersion: MIN_TLS_VERSION };
}
