// Database upkeep on a timer: expired tokens, audit events past retention and those beyond max_rows are
// pruned at start-up and every interval, and nothing runs after stop(). The clock and
// the interval are injected, and the timer is Node's mock, so nothing sleeps.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, mock, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { loadRegistryConfig } from "../../../registry/config.ts";
import { EmbeddedIdentity } from "../../../registry/identity/embedded.ts";
import { assembleRegistry } from "../../../registry/server/assemble.ts";
import { Maintenance } from "../../../registry/server/maintenance.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse("2026-06-01T00:00:00Z");
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function openDb(): Promise<Kysely<RegistryDatabase>> {
  const dir = mkdtempSync(join(tmpdir(), "maint-"));
  dirs.push(dir);
  return (await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations)).db;
}

/** Audit rows `ages` (in ms) before NOW. */
async function auditAt(db: Kysely<RegistryDatabase>, ...ages: number[]): Promise<void> {
  await db
    .insertInto("audit_log")
    .values(
      ages.map((age) => ({
        event_time: new Date(NOW - age).toISOString(),
        event_type: "manifest_pulled",
        actor_id: "a",
        repository: "r",
        digest: null,
        ip_address: null,
        details: null,
      })),
    )
    .execute();
}

const count = async (db: Kysely<RegistryDatabase>, table: "audit_log" | "tokens") =>
  Number(
    (
      await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe("AuditLog.prune", () => {
  test("deletes only events older than the cutoff, in batches, and stops between batches on abort", async () => {
    const db = await openDb();
    const audit = new AuditLog(db, silentLogger());
    await auditAt(db, 100 * DAY, 95 * DAY, 91 * DAY, 91 * DAY, 91 * DAY, 89 * DAY, 0);
    const cutoff = new Date(NOW - 90 * DAY).toISOString();
    const stopped = new AbortController();
    stopped.abort();
    assert.equal(await audit.prune(cutoff, stopped.signal, 2), 0, "an aborted prune deletes nothing more");
    assert.equal(await audit.prune(cutoff, undefined, 2), 5, "five old events, three batches");
    assert.equal(await count(db, "audit_log"), 2);
    await db.destroy();
  });
});

describe("AuditLog.pruneToMaxRows", () => {
  test("keeps the newest rows, deletes the oldest in batches, and stops between batches on abort", async () => {
    const db = await openDb();
    const audit = new AuditLog(db, silentLogger());
    await auditAt(db, ...Array.from({ length: 12 }, (_, i) => (12 - i) * HOUR));
    const ids = async () => (await db.selectFrom("audit_log").select("id").orderBy("id").execute()).map((r) => r.id);
    const newest = (await ids()).slice(-5);
    const stopped = new AbortController();
    stopped.abort();
    assert.equal(await audit.pruneToMaxRows(5, stopped.signal, 2), 0, "an aborted prune deletes nothing");
    assert.equal(await audit.pruneToMaxRows(20), 0, "under the cap nothing goes");
    assert.equal(await audit.pruneToMaxRows(5, undefined, 2), 7, "seven rows, four batches");
    assert.deepEqual(await ids(), newest);
    assert.equal(await audit.pruneToMaxRows(5), 0);
    await db.destroy();
  });
});

describe("Maintenance", () => {
  let db: Kysely<RegistryDatabase>;
  let identity: EmbeddedIdentity;
  let audit: AuditLog;
  let clock: number;

  beforeEach(async () => {
    db = await openDb();
    clock = NOW;
    identity = new EmbeddedIdentity(db, { tokenTtlMs: HOUR, loginsPerMinute: 10, now: () => clock });
    audit = new AuditLog(db, silentLogger());
    await identity.accounts.create("alice", "a long enough password", "human", ["user"]);
  });

  const login = () => identity.login({ username: "alice", password: "a long enough password", serviceName: "mcr", tags: [] });

  test("a pass removes tokens expired over a day ago and events past retention; retention 0 keeps events", async () => {
    clock = NOW - 3 * DAY;
    await login(); // expired two days before NOW
    clock = NOW;
    await login(); // valid
    await auditAt(db, 91 * DAY, 30 * DAY);
    const m = new Maintenance({ audit, tokens: identity, auditRetentionMs: 90 * DAY, log: silentLogger(), now: () => clock });
    assert.deepEqual(await m.run(), { tokens: 1, auditEvents: 1 });
    assert.equal(await count(db, "tokens"), 1);
    assert.equal(await count(db, "audit_log"), 1);

    const keep = new Maintenance({ audit, tokens: null, auditRetentionMs: 0, log: silentLogger(), now: () => NOW + 365 * DAY });
    assert.deepEqual(await keep.run(), { tokens: 0, auditEvents: 0 });
    assert.equal(await count(db, "audit_log"), 1);
    await db.destroy();
  });

  test("a pass also deletes the oldest events beyond auditMaxRows, with or without a retention", async () => {
    await auditAt(db, 5 * DAY, 4 * DAY, 3 * DAY, 2 * DAY, DAY);
    const capped = new Maintenance({ audit, tokens: null, auditRetentionMs: 0, auditMaxRows: 3, log: silentLogger(), now: () => clock });
    assert.deepEqual(await capped.run(), { tokens: 0, auditEvents: 2 });
    assert.equal(await count(db, "audit_log"), 3);
    const both = new Maintenance({ audit, tokens: null, auditRetentionMs: 2.5 * DAY, auditMaxRows: 1, log: silentLogger(), now: () => clock });
    assert.deepEqual(await both.run(), { tokens: 0, auditEvents: 2 }, "one past retention, one over the cap");
    assert.equal(await count(db, "audit_log"), 1);
    const uncapped = new Maintenance({ audit, tokens: null, auditRetentionMs: 0, auditMaxRows: 0, log: silentLogger(), now: () => clock });
    assert.deepEqual(await uncapped.run(), { tokens: 0, auditEvents: 0 });
    await db.destroy();
  });

  test("runs at start and on every interval, on an unref'd timer that stop() clears", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const m = new Maintenance({ audit, tokens: identity, auditRetentionMs: 90 * DAY, log: silentLogger(), intervalMs: HOUR, now: () => clock });
    const passes = mock.method(audit, "prune");
    await auditAt(db, 100 * DAY);
    m.start();
    await m.run(); // joins the start-up pass
    assert.equal(passes.mock.callCount(), 1);
    assert.equal(await count(db, "audit_log"), 0);

    // A day later the events of NOW - 89.5 days are past retention.
    await auditAt(db, 89.5 * DAY);
    clock = NOW + DAY;
    t.mock.timers.tick(HOUR);
    await m.run();
    assert.equal(passes.mock.callCount(), 2, "the interval ran a pass");
    assert.equal(await count(db, "audit_log"), 0);

    await m.stop();
    const after = passes.mock.callCount();
    await auditAt(db, 200 * DAY);
    t.mock.timers.tick(10 * HOUR);
    assert.equal(await m.run(), undefined, "stopped: no more passes");
    assert.equal(passes.mock.callCount(), after);
    assert.equal(await count(db, "audit_log"), 1);
    await db.destroy();
  });

  test("the timer does not keep the process alive", async () => {
    const m = new Maintenance({ audit, tokens: null, auditRetentionMs: 0, log: silentLogger(), intervalMs: HOUR });
    m.start();
    assert.equal((m as unknown as { timer: NodeJS.Timeout }).timer.hasRef(), false);
    await m.stop();
    await db.destroy();
  });

  test("a failing pass is logged and the next one still runs", async () => {
    let fail = true;
    const tokens = { pruneTokens: async () => (fail ? Promise.reject(new Error("database is locked")) : 0) };
    const errors: string[] = [];
    const log = Object.assign(silentLogger(), { error: (_o: unknown, msg: string) => void errors.push(msg) }) as ReturnType<typeof silentLogger>;
    const m = new Maintenance({ audit, tokens, auditRetentionMs: 90 * DAY, log, now: () => clock });
    assert.equal(await m.run(), undefined);
    assert.match(errors[0]!, /maintenance failed/);
    fail = false;
    assert.deepEqual(await m.run(), { tokens: 0, auditEvents: 0 });
    await db.destroy();
  });
});

describe("the registry's upkeep", () => {
  /** A plain-HTTP registry home with the given extra TOML; returns the config path. */
  function home(extra = ""): string {
    const dir = mkdtempSync(join(tmpdir(), "maint-home-"));
    dirs.push(dir);
    const path = join(dir, "mcr.toml");
    writeFileSync(path, `[server]\nlisten_addr = "127.0.0.1:0"\nplain_http = true\n[database]\npath = "mcr.db"\n[storage]\nlayers_path = "layers"\n${extra}`);
    return path;
  }

  test("[audit] retention defaults to 90 days and takes durations in days", () => {
    assert.equal(loadRegistryConfig(home(), {}).audit.retention, 90 * DAY);
    assert.equal(loadRegistryConfig(home('[audit]\nretention = "30d"\n'), {}).audit.retention, 30 * DAY);
    assert.equal(loadRegistryConfig(home(), { MCR_AUDIT_RETENTION: "0" }).audit.retention, 0);
  });

  test("[audit] max_rows defaults to 1,000,000; 0 turns the cap off; a negative or fractional count is refused", () => {
    assert.equal(loadRegistryConfig(home(), {}).audit.max_rows, 1_000_000);
    assert.equal(loadRegistryConfig(home("[audit]\nmax_rows = 0\n"), {}).audit.max_rows, 0);
    assert.equal(loadRegistryConfig(home(), { MCR_AUDIT_MAX_ROWS: "5000" }).audit.max_rows, 5000);
    assert.throws(() => loadRegistryConfig(home("[audit]\nmax_rows = -1\n"), {}), /max_rows/);
    assert.throws(() => loadRegistryConfig(home("[audit]\nmax_rows = 1.5\n"), {}), /max_rows/);
  });

  test("the assembled registry caps the audit table at [audit] max_rows", async () => {
    const cfg = loadRegistryConfig(home("[audit]\nmax_rows = 2\n"), {});
    const seed = (await openSqlite<RegistryDatabase>(cfg.database.path, registryMigrations)).db;
    await auditAt(seed, 3 * HOUR, 2 * HOUR, HOUR, 0);
    await seed.destroy();
    const parts = await assembleRegistry(cfg, silentLogger(), { now: () => NOW, maintenanceIntervalMs: HOUR });
    try {
      await parts.maintenance.run();
      assert.equal(await count(parts.db, "audit_log"), 2);
    } finally {
      await parts.close();
    }
  });

  test("the assembled registry prunes on its timer with the configured retention, and close() stops it", async (t) => {
    const cfg = loadRegistryConfig(home('[audit]\nretention = "30d"\n'), {});
    const seed = (await openSqlite<RegistryDatabase>(cfg.database.path, registryMigrations)).db;
    const past = new EmbeddedIdentity(seed, { tokenTtlMs: HOUR, loginsPerMinute: 10, now: () => NOW - 3 * DAY });
    await past.accounts.create("alice", "a long enough password", "human", ["user"]);
    await past.login({ username: "alice", password: "a long enough password", serviceName: "mcr", tags: [] });
    await auditAt(seed, 31 * DAY, 29 * DAY);
    await seed.destroy();

    t.mock.timers.enable({ apis: ["setInterval"] });
    const parts = await assembleRegistry(cfg, silentLogger(), { now: () => NOW, maintenanceIntervalMs: HOUR });
    try {
      await parts.maintenance.run(); // the start-up pass
      assert.equal(await count(parts.db, "tokens"), 0, "the expired token is gone");
      assert.equal(await count(parts.db, "audit_log"), 1, "only the event past 30 days is gone");
      await auditAt(parts.db, 45 * DAY);
      t.mock.timers.tick(HOUR);
      await parts.maintenance.run();
      assert.equal(await count(parts.db, "audit_log"), 1, "the hourly pass pruned the new old event");
    } finally {
      await parts.close();
    }
    assert.equal(await parts.maintenance.run(), undefined, "stopped with the registry");
  });
});
