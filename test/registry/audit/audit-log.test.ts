import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";

test("audit events are buffered, written in batches and listed newest first with filters", async () => {
  const { db } = await openSqlite<RegistryDatabase>(join(mkdtempSync(join(tmpdir(), "audit-")), "mcr.db"), registryMigrations);
  const audit = new AuditLog(db, silentLogger(), 10_000);
  audit.record({ type: "login_ok", actor: "alice", ip: "10.0.0.1" });
  audit.record({ type: "manifest_pushed", actor: "alice", repository: "team/app", digest: "sha256:x", details: { tag: "v1" } });
  audit.record({ type: "manifest_pulled", actor: "bob", repository: "team/app" });
  assert.equal((await db.selectFrom("audit_log").selectAll().execute()).length, 0, "nothing written before the flush");
  const all = await audit.list();
  assert.deepEqual(all.map((e) => e.type), ["manifest_pulled", "manifest_pushed", "login_ok"]);
  assert.deepEqual(all[1]!.details, { tag: "v1" });
  assert.deepEqual((await audit.list({ actor: "alice", repository: "team/app" })).map((e) => e.type), ["manifest_pushed"]);
  assert.equal((await audit.list({ limit: 1, offset: 1 }))[0]!.type, "manifest_pushed");
  assert.equal((await audit.list({ until: "2000-01-01T00:00:00Z" })).length, 0);
  for (let i = 0; i < 1200; i++) audit.record({ type: "manifest_pulled" });
  assert.equal((await audit.list({ type: "manifest_pulled", limit: 5000 })).length, 1000, "one page is at most 1000");
  await db.destroy();
});
