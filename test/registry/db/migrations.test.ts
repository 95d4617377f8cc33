// Existing embedded homes keep working: a database made by the migrations as they were
// before PostgreSQL support opens with today's, keeps its data, and has exactly the schema a
// new database gets (the SQLite column types did not change).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import SQLite from "better-sqlite3";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { Metadata } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { PolicyStore } from "../../../registry/policy/store.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "schema-0003-sqlite.sql");
const schemaOf = (path: string) => {
  const s = new SQLite(path, { readonly: true });
  try {
    return (s.prepare("select type, name, sql from sqlite_master where name not like 'kysely%' order by name").all() as { sql: string }[]).map((r) =>
      JSON.stringify(r),
    );
  } finally {
    s.close();
  }
};

describe("SQLite databases made before PostgreSQL support", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "migr-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("open with today's migrations, keep their rows and accept new ones; a new database has the same schema", async () => {
    const old = join(dir, "old.db");
    const s = new SQLite(old);
    s.exec(readFileSync(FIXTURE, "utf8"));
    s.prepare("insert into repositories (name) values ('team/app')").run();
    s.prepare("insert into blobs (digest, size) values (?, ?)").run(`sha256:${"a".repeat(64)}`, 6 * 1024 ** 3);
    s.prepare("insert into policy_rules (priority, description, rule_json) values (3, 'old', '{\"effect\":\"allow\"}')").run();
    s.close();

    const { db } = await openSqlite<RegistryDatabase>(old, registryMigrations);
    try {
      const meta = new Metadata(db);
      assert.equal(await meta.blobSize(`sha256:${"a".repeat(64)}`), 6 * 1024 ** 3);
      assert.deepEqual(await meta.listRepositories(10, undefined), ["team/app"]);
      const rule = await new PolicyStore(db, new AuditLog(db, silentLogger())).create({ priority: 4, description: "new", effect: "deny" }, "t");
      assert.equal(rule.id, 2);
    } finally {
      await db.destroy();
    }
    const fresh = join(dir, "fresh.db");
    await (await openSqlite<RegistryDatabase>(fresh, registryMigrations)).db.destroy();
    assert.deepEqual(schemaOf(old), schemaOf(fresh));
  });
});
