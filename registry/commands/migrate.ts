// `mcr migrate --from OLD.toml --config NEW.toml`: moves a stopped embedded registry (SQLite
// and files) to the PostgreSQL database and S3 bucket that NEW.toml names (docs/scale-out.md).
// Blobs go first, each through the target store's upload path (so its digest is checked
// again) and skipped when already there, so an interrupted run can simply be run again;
// then every metadata row in one transaction, so the target's rows never name a blob it
// lacks. The old home is not changed.
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { copyMetadata, type CopyCounts } from "../db/copy.ts";
import { openRegistryDb } from "../db/open.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { parseDigest } from "../storage/digest.ts";
import { openBlobStore } from "../storage/open.ts";
import { loadRegistryConfig, openOffline } from "./offline.ts";

export interface MigrateResult {
  tables: CopyCounts;
  blobs: { copied: number; present: number; bytes: number };
}

const PARALLEL = 4;

async function copyBlob(from: BlobStore, to: BlobStore, digest: string, size: number): Promise<boolean> {
  const d = parseDigest(digest);
  if ((await to.stat(d)) === size) return false;
  const id = randomUUID();
  await to.startUpload(id);
  try {
    await to.appendUpload(id, 0, await from.open(d), { expectedLength: size });
    await to.commitUpload(id, size, d);
  } catch (err) {
    await to.cancelUpload(id).catch(() => undefined);
    throw new Error(`blob ${digest}: ${(err as Error).message}`);
  }
  return true;
}

export async function migrateCommand(o: { from: string; config: string }, say: (line: string) => void = () => undefined): Promise<MigrateResult> {
  const src = loadRegistryConfig(o.from);
  const dst = loadRegistryConfig(o.config);
  if (src.database.url) throw new Error(`--from ${o.from}: not an embedded registry ([database] url is set); mcr migrate copies from SQLite`);
  if (!dst.database.url) throw new Error(`--config ${o.config}: [database] url is not set; migrate into a PostgreSQL database (mcr init --database-url …)`);
  const off = await openOffline(src, "migrate"); // the instance lock: the old server must be stopped
  try {
    const target = await openRegistryDb(dst.database);
    let store: BlobStore | undefined;
    try {
      const sameFiles = dst.storage.backend === "local" && resolve(dst.storage.layers_path) === resolve(src.storage.layers_path);
      store = sameFiles ? off.store : await openBlobStore(dst);
      const rows = await off.db.selectFrom("blobs").select(["digest", "size"]).orderBy("digest").execute();
      const blobs = { copied: 0, present: 0, bytes: 0 };
      if (!sameFiles) {
        let next = 0;
        const worker = async () => {
          for (let i = next++; i < rows.length; i = next++) {
            const r = rows[i]!;
            if (await copyBlob(off.store, store!, r.digest, r.size)) {
              blobs.copied++;
              blobs.bytes += r.size;
            } else blobs.present++;
            const done = blobs.copied + blobs.present;
            if (done % 500 === 0) say(`blobs: ${done}/${rows.length}`);
          }
        };
        await Promise.all(Array.from({ length: PARALLEL }, worker));
      }
      say(`blobs: ${blobs.copied} copied (${blobs.bytes} bytes), ${blobs.present} already there; copying metadata…`);
      const tables = await copyMetadata(off.db, target.db);
      return { tables, blobs };
    } finally {
      if (store && store !== off.store) store.close?.();
      await target.db.destroy();
    }
  } finally {
    await off.close();
  }
}
