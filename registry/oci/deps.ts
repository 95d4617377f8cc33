// What the OCI handlers need from the rest of the registry; passed in so tests can swap parts.
import type { Logger } from "../../lib/log/logger.ts";
import type { Metadata } from "../db/metadata.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { RegistryAccess } from "../auth/access.ts";

export interface OciLimits {
  deleteEnabled: boolean;
  maxManifestBytes: number;
  /** 0 = no limit. */
  maxBlobBytes: number;
}

export interface OciDeps {
  meta: Metadata;
  store: BlobStore;
  limits: OciLimits;
  log: Logger;
  /** Serializes requests on one upload session. */
  uploadLocks: KeyedLock;
  /** Authentication and policy for every /v2/ request. */
  access: RegistryAccess;
  audit: AuditLog;
}
