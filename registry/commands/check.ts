// `mcr check [--verify N|all]`: the database's integrity check and blob rows against blob
// files, both ways; with --verify, blobs read back from the store and hashed against their
// digests. Changes nothing. Through the running server when it runs (its locks keep an upload
// commit in flight from looking like a file without a row), directly when it is stopped.
import { silentLogger } from "../../lib/log/logger.ts";
import { bytes as formatBytes } from "../../lib/text/bytes.ts";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { integrityErrors } from "../db/backup.ts";
import { GarbageCollector } from "../gc/collector.ts";
import { checkRegistry, type CheckResult } from "../gc/check.ts";
import { parseVerify, type VerifySample } from "../gc/verify.ts";
import { loadRegistryConfig, openOffline, runningServer, serverClient } from "./offline.ts";

export interface CheckCommandOptions {
  config: string;
  /** `--verify`'s text: a number of blobs or "all". */
  verify?: string;
}

export async function checkCommand(o: CheckCommandOptions): Promise<CheckResult> {
  // A bad --verify fails here, before anything is opened.
  const verify: VerifySample | undefined = o.verify === undefined ? undefined : parseVerify(o.verify);
  const cfg = loadRegistryConfig(o.config);
  const socket = runningServer(cfg);
  if (socket) {
    const r = await serverClient(AdminService, socket).check({ verifyCount: verify === "all" ? 0 : (verify ?? 0), verifyAll: verify === "all" });
    const v = r.verification;
    return {
      ok: r.ok,
      integrityErrors: r.integrityErrors,
      blobRows: Number(r.blobRows),
      orphanFiles: r.orphanFiles,
      missingFiles: r.missingFiles,
      ...(v
        ? { verification: { blobs: Number(v.blobs), bytes: Number(v.bytes), corrupt: v.corrupt.map((c) => ({ digest: c.digest, problem: c.problem })) } }
        : {}),
    };
  }
  const off = await openOffline(cfg, "check", false);
  try {
    // A damaged file may not even list its tables: report that rather than a stack.
    const errors = off.sqlite ? integrityErrors(off.sqlite) : [];
    if (errors.length) return { ok: false, integrityErrors: errors, blobRows: 0, orphanFiles: [], missingFiles: [] };
    const collector = new GarbageCollector({
      db: off.db,
      store: off.store,
      locks: { digests: off.locks.digests, commits: off.locks.commits },
      log: silentLogger(),
    });
    return await checkRegistry(off.sqlite, off.db, collector, { store: off.store, verify });
  } finally {
    await off.close();
  }
}

export function formatCheck(r: CheckResult): string {
  const lines = [`integrity: ${r.integrityErrors.length ? `FAILED\n  ${r.integrityErrors.slice(0, 20).join("\n  ")}` : "ok"}`, `blob rows: ${r.blobRows}`];
  lines.push(`rows without a file: ${r.missingFiles.length}${r.missingFiles.length ? `\n  ${r.missingFiles.join("\n  ")}` : ""}`);
  lines.push(
    `files without a row: ${r.orphanFiles.length}${r.orphanFiles.length ? ` (mcr gc --reconcile removes them)\n  ${r.orphanFiles.join("\n  ")}` : ""}`,
  );
  const v = r.verification;
  if (v) {
    lines.push(`blobs read back and hashed: ${v.blobs} (${formatBytes(v.bytes)})`);
    lines.push(
      `blobs that do not match their digest: ${v.corrupt.length}${v.corrupt.length ? `\n  ${v.corrupt.map((c) => `${c.digest}: ${c.problem}`).join("\n  ")}` : ""}`,
    );
  }
  lines.push(r.ok ? "ok" : "PROBLEMS FOUND");
  return lines.join("\n") + "\n";
}
