// Upload sessions idle past [gc] stale_uploads are removed with their files on the
// maintenance timer; active ones stay.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { KeyedLock } from "../../../lib/sync/keyed-lock.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { Metadata } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { removeStaleUploads } from "../../../registry/gc/stale-uploads.ts";
import { Maintenance } from "../../../registry/server/maintenance.ts";
import { LocalBlobStore } from "../../../registry/storage/local-fs.ts";

let dir: string;
let db: Kysely<RegistryDatabase>;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "stale-"));
  ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
});
after(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("sessions without a chunk for the configured age go with their files, on the maintenance timer; the others stay", async () => {
  const meta = new Metadata(db);
  const store = await LocalBlobStore.open(join(dir, "layers"), join(dir, "uploads"));
  const repo = await meta.ensureRepository("up/a");
  const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"];
  for (const id of ids) {
    await store.startUpload(id);
    await meta.createUpload(id, repo);
    await meta.setUploadOffset(id, await store.appendUpload(id, 0, Readable.from([Buffer.from("chunk")])));
  }
  await db.updateTable("uploads").set({ updated_at: "2000-01-01T00:00:00.000Z" }).where("uuid", "=", ids[0]!).execute();
  const deps = { db, store, uploadLocks: new KeyedLock(), log: silentLogger() };
  assert.equal(await removeStaleUploads(deps, 0), 0, "0 keeps them");
  const maintenance = new Maintenance({
    audit: new AuditLog(db, silentLogger()),
    tokens: null,
    auditRetentionMs: 0,
    log: silentLogger(),
    staleUploads: () => removeStaleUploads(deps, 24 * 3_600_000),
  });
  assert.deepEqual(await maintenance.run(), { tokens: 0, auditEvents: 0, uploads: 1 });
  await maintenance.stop();
  assert.deepEqual(await meta.uploadIds(), [ids[1]]);
  assert.equal(existsSync(join(dir, "uploads", ids[0]!)), false);
  assert.equal(existsSync(join(dir, "uploads", ids[1]!)), true);
});

test("upload data without a session goes once it is as old as a stale session (what shared storage cannot tell apart at start-up)", async () => {
  const store = await LocalBlobStore.open(join(dir, "layers"), join(dir, "uploads"));
  const fresh = "00000000-0000-4000-8000-000000000003";
  const old = "00000000-0000-4000-8000-000000000004";
  for (const id of [fresh, old]) {
    await store.startUpload(id);
    await store.appendUpload(id, 0, Readable.from([Buffer.from("orphan")]));
  }
  const past = new Date(Date.now() - 48 * 3_600_000);
  utimesSync(join(dir, "uploads", old), past, past);
  const deps = { db, store, uploadLocks: new KeyedLock(), log: silentLogger() };
  assert.equal(await removeStaleUploads(deps, 24 * 3_600_000), 1);
  assert.equal(existsSync(join(dir, "uploads", old)), false);
  assert.equal(existsSync(join(dir, "uploads", fresh)), true);
});
