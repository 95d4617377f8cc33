// AdminService: Health (public), Snapshot and Check (admin).
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../lib/log/logger.ts";
import type { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import type { SnapshotInfo } from "../db/backup.ts";
import type { Metadata } from "../db/metadata.ts";
import type { CheckResult } from "../gc/check.ts";
import { MAX_VERIFY_SAMPLE, type VerifySample } from "../gc/verify.ts";
import { checkHealth } from "../server/health.ts";
import type { StorageHealth } from "../storage/health.ts";

export interface AdminServiceDeps {
  meta: Pick<Metadata, "ping">;
  /** The blob store's state (the bucket or the blob folder); absent: only the database is checked. */
  storage?: Pick<StorageHealth, "check">;
  version: string;
  log: Logger;
  snapshot?: () => Promise<SnapshotInfo>;
  /** `verify`: blobs to read back and hash (a number at random, or all). */
  check?: (verify?: VerifySample) => Promise<CheckResult>;
}

export function adminService(deps: AdminServiceDeps): ServiceImpl<typeof AdminService> {
  const missing = (what: string): never => {
    throw new ConnectError(`${what} is not available on this registry`, Code.Unimplemented);
  };
  return {
    async health() {
      const r = await checkHealth(deps.meta, deps.storage, deps.log);
      // Health is public: the caller gets the summary; the cause stays on the error and in the log.
      if (!r.ok) throw new ConnectError(r.error!, Code.Unavailable, undefined, undefined, r.cause);
      const storage = r.storage && { backend: r.storage.backend, location: r.storage.location, status: "ok" };
      return { status: "ok", version: deps.version, database: r.database, ...(storage ? { storage } : {}) };
    },
    async snapshot() {
      const s = await (deps.snapshot ?? (() => missing("snapshot")))();
      deps.log.info({ path: s.path, size: s.size }, "database snapshot written");
      return { path: s.path, size: BigInt(s.size), createdAt: s.createdAt };
    },
    async check(req) {
      if (req.verifyCount > MAX_VERIFY_SAMPLE) throw new ConnectError(`verify_count is at most ${MAX_VERIFY_SAMPLE}; use verify_all`, Code.InvalidArgument);
      const verify: VerifySample | undefined = req.verifyAll ? "all" : req.verifyCount || undefined;
      const c = await (deps.check ?? (() => missing("check")))(verify);
      const v = c.verification;
      return {
        ok: c.ok,
        integrityErrors: c.integrityErrors,
        blobRows: BigInt(c.blobRows),
        orphanFiles: c.orphanFiles,
        missingFiles: c.missingFiles,
        ...(v ? { verification: { blobs: BigInt(v.blobs), bytes: BigInt(v.bytes), corrupt: v.corrupt } } : {}),
      };
    },
  };
}
