// What the OCI handlers need from the rest of the registry; passed in so tests can swap parts.
import type { Logger } from "../../lib/log/logger.ts";
import type { Metadata } from "../db/metadata.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { BlobLocks, KeyLock } from "../locks/types.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { RegistryAccess } from "../auth/access.ts";

export interface OciLimits {
  deleteEnabled: boolean;
  maxManifestBytes: number;
  /** 0 = no limit. */
  maxBlobBytes: number;
  /** A blob existence check (HEAD) restarts the blob's GC grace window when it is older than this. */
  blobTouchMs: number;
  /** Blob GETs answer 307 with the store's presigned URL ([s3] redirect). */
  redirect?: boolean;
}

export interface OciDeps {
  meta: Metadata;
  store: BlobStore;
  limits: OciLimits;
  log: Logger;
  /** Serializes requests on one upload session. */
  uploadLocks: KeyLock;
  blobLocks: BlobLocks;
  /** Authentication and policy for every /v2/ request. */
  access: RegistryAccess;
  audit: AuditLog;
}
