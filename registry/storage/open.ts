// The blob store the config names: local files ([storage] layers_path) or an S3 bucket ([s3]).
import type { RegistryConfig } from "../config.ts";
import type { BlobStore } from "./blob-store.ts";
import { LocalBlobStore } from "./local-fs.ts";
import type { S3Settings } from "./s3-client.ts";

export function s3Settings(cfg: RegistryConfig): S3Settings {
  const s = cfg.s3;
  return {
    endpoint: s.endpoint,
    region: s.region,
    bucket: s.bucket,
    prefix: s.prefix,
    pathStyle: s.path_style,
    credentialsFile: s.credentials_file,
    redirect: s.redirect,
    redirectTtlMs: s.redirect_ttl,
  };
}

export async function openBlobStore(cfg: RegistryConfig): Promise<BlobStore> {
  if (cfg.storage.backend === "s3") {
    const { S3BlobStore } = await import("./s3.ts");
    return S3BlobStore.open(s3Settings(cfg));
  }
  return LocalBlobStore.open(cfg.storage.layers_path, cfg.storage.uploads_path, { directWrites: cfg.storage.direct_writes });
}
