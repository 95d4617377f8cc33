import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { sql, type Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { createLogger, silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function openDb(): Promise<Kysely<RegistryDatabase>> {
  const dir = mkdtempSync(join(tmpdir(), "audit-"));
  dirs.push(dir);
  return (await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations)).db;
}

/** A logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger("test", "info", sink), lines };
}

test("audit events are buffered, written in batches and listed newest first with filters", async () => {
  const db = await openDb();
  const audit = new AuditLog(db, silentLogger(), { flushMs: 10_000 });
  audit.record({ type: "login_ok", actor: "alice", ip: "10.0.0.1" });
  audit.record({ type: "manifest_pushed", actor: "alice", repository: "team/app", digest: "sha256:x", details: { tag: "v1" } });
  audit.record({ type: "manifest_pulled", actor: "bob", repository: "team/app" });
  assert.equal((await db.selectFrom("audit_log").selectAll().execute()).length, 0, "nothing written before the flush");
  const all = await audit.list();
  assert.deepEqual(
    all.map((e) => e.type),
    ["manifest_pulled", "manifest_pushed", "login_ok"],
  );
  assert.deepEqual(all[1]!.details, { tag: "v1" });
  assert.deepEqual(
    (await audit.list({ actor: "alice", repository: "team/app" })).map((e) => e.type),
    ["manifest_pushed"],
  );
  assert.equal((await audit.list({ limit: 1, offset: 1 }))[0]!.type, "manifest_pushed");
  assert.equal((await audit.list({ until: "2000-01-01T00:00:00Z" })).length, 0);
  for (let i = 0; i < 1200; i++) audit.record({ type: "manifest_pulled" });
  assert.equal((await audit.list({ type: "manifest_pulled", limit: 5000 })).length, 1000, "one page is at most 1000");
  await db.destroy();
});

// The table is renamed away to make inserts fail the way a broken database would.
const breakTable = (db: Kysely<RegistryDatabase>) => sql`ALTER TABLE audit_log RENAME TO audit_log_away`.execute(db);
const repairTable = (db: Kysely<RegistryDatabase>) => sql`ALTER TABLE audit_log_away RENAME TO audit_log`.execute(db);
const written = async (db: Kysely<RegistryDatabase>) => (await db.selectFrom("audit_log").select("actor_id").orderBy("id").execute()).map((r) => r.actor_id);

test("a batch that fails to write is kept, logged and written by a later retry", async () => {
  const db = await openDb();
  const { log, lines } = capturingLogger();
  const audit = new AuditLog(db, log, { flushMs: 10_000, retryMs: 10 });
  await breakTable(db);
  audit.record({ type: "login_ok", actor: "alice" });
  audit.record({ type: "login_fail", actor: "mallory" });
  await assert.rejects(audit.flush(), /audit_log/, "an explicit flush reports the failure");
  assert.equal(audit.pendingCount, 2, "the events are kept");
  const failure = lines.find((l) => l.msg === "audit events could not be written; kept for a retry");
  assert.ok(failure, "the failure is logged");
  assert.equal(failure.events, 2);
  assert.match(JSON.stringify(failure.err), /audit_log/, "with its cause");

  audit.record({ type: "logout", actor: "alice" }); // recorded during the outage: waits for the retry
  await repairTable(db);
  const deadline = Date.now() + 5000;
  while (audit.pendingCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await written(db), ["alice", "mallory", "alice"], "written in order by the retry timer, nothing lost");
  assert.ok(lines.some((l) => l.msg === "audit events written after failed attempts"));
  await db.destroy();
});

test("while writes fail, at most maxPending events are kept; the oldest are dropped and the drop is logged", async () => {
  const db = await openDb();
  const { log, lines } = capturingLogger();
  const audit = new AuditLog(db, log, { flushMs: 10_000, retryMs: 60_000, maxPending: 3 });
  await breakTable(db);
  audit.record({ type: "login_ok", actor: "a1" });
  await assert.rejects(audit.flush());
  for (const actor of ["a2", "a3", "a4", "a5"]) audit.record({ type: "login_ok", actor });
  assert.equal(audit.pendingCount, 3);
  assert.ok(lines.some((l) => l.msg === "audit buffer full: dropping the oldest events until the database accepts writes"));
  await repairTable(db);
  await audit.flush();
  assert.deepEqual(await written(db), ["a3", "a4", "a5"]);
  const recovered = lines.find((l) => l.msg === "audit events written after failed attempts");
  assert.equal(recovered?.dropped, 2);
  await db.destroy();
});

test("failed logins are written at once the first time, their repeats counted, and close() writes the counts", async () => {
  const db = await openDb();
  const audit = new AuditLog(db, silentLogger(), { flushMs: 10_000 });
  for (let i = 0; i < 5; i++) audit.loginFailed({ actor: "mallory", ip: "10.0.0.7", via: "token", reason: "invalid username or password" });
  await audit.flush();
  assert.deepEqual(
    (await audit.list()).map((e) => [e.actor, e.details?.count]),
    [["mallory", "1"]],
  );
  await audit.close();
  const rows = await audit.list({ type: "login_fail" });
  assert.deepEqual(
    rows.map((e) => e.details?.count),
    ["4", "1"],
    "newest first: the four repeats, then the first",
  );
  assert.ok(rows[0]!.details?.first && rows[0]!.details?.last);
  await db.destroy();
});
