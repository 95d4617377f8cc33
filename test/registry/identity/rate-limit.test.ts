// The login rate limit kept in the database (registry/identity/rate-limit.ts): a sliding
// window of failures per key, Retry-After from the oldest failure in it, shared by every
// limiter on one database (two replicas), no user name or address stored, and a table that
// keeps only the window's rows however many names are tried; the embedded registry's
// shortcut (no query while it has recorded no failure). On SQLite, and on PostgreSQL where it
// is installed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openPostgres } from "../../../lib/db/postgres.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { keyHash, LoginRateLimit } from "../../../registry/identity/rate-limit.ts";
import { skipUnlessPostgres, startPostgres, type PgServer } from "../../helpers/postgres.ts";

function suite(open: () => Promise<{ db: Kysely<RegistryDatabase>; close(): Promise<void> }>) {
  return () => {
    let db: Kysely<RegistryDatabase>;
    let close: () => Promise<void>;
    let t = Date.parse("2026-03-01T00:00:00Z");
    const now = () => t;
    before(async () => ({ db, close } = await open()));
    after(async () => close?.());

    test("a sliding window: the limit, then Retry-After until the oldest failure leaves the window", async () => {
      const rl = new LoginRateLimit(db, { windowMs: 60_000, now });
      const k = [{ key: "account:alice\u000010.0.0.1", limit: 3 }];
      assert.equal(await rl.waitFor(k), 0);
      await rl.fail([k[0]!.key]);
      t += 20_000;
      await rl.fail([k[0]!.key]);
      assert.equal(await rl.waitFor(k), 0, "two of three");
      t += 1_500;
      await rl.fail([k[0]!.key]);
      assert.equal(await rl.waitFor(k), 39, "the first failure leaves the window in 38.5 s: rounded up");
      t += 38_400;
      assert.equal(await rl.waitFor(k), 1, "never 0 while limited");
      t += 200;
      assert.equal(await rl.waitFor(k), 0, "the first has left: one more attempt");
      assert.equal(await rl.waitFor([{ key: "account:alice\u000010.0.0.2", limit: 3 }]), 0, "another key is not limited");
    });

    test("several keys in one query: the longest wait wins; each key has its own limit", async () => {
      t += 120_000;
      const rl = new LoginRateLimit(db, { now });
      const pair = "account:bob\u000010.0.0.9";
      const addr = "address:10.0.0.9";
      for (let i = 0; i < 2; i++) {
        await rl.fail([pair, addr]);
        t += 1000;
      }
      assert.equal(
        await rl.waitFor([
          { key: pair, limit: 3 },
          { key: addr, limit: 30 },
        ]),
        0,
      );
      assert.equal(
        await rl.waitFor([
          { key: pair, limit: 2 },
          { key: addr, limit: 30 },
        ]),
        58,
      );
      assert.equal(
        await rl.waitFor([
          { key: pair, limit: 5 },
          { key: addr, limit: 1 },
        ]),
        58,
      );
    });

    test("two limiters on one database (two replicas) count the same failures", async () => {
      t += 120_000;
      const a = new LoginRateLimit(db, { now });
      const b = new LoginRateLimit(db, { now });
      const k = "account:carol\u000010.0.0.5";
      for (let i = 0; i < 5; i++) await (i % 2 ? b : a).fail([k]);
      assert.ok((await a.waitFor([{ key: k, limit: 5 }])) > 0);
      assert.ok((await b.waitFor([{ key: k, limit: 5 }])) > 0);
    });

    test("keys are stored as hashes only; rows that left the window are pruned on the failure path", async () => {
      t += 120_000;
      const rl = new LoginRateLimit(db, { now, pruneEveryMs: 10_000 });
      await rl.prune();
      for (let i = 0; i < 500; i++) await rl.fail([`account:made-up-${i}\u000010.9.9.9`, "address:10.9.9.9"]);
      assert.equal(await rl.rows(), 1000);
      const keys = (await db.selectFrom("login_failures").select("key").execute()).map((r) => r.key);
      assert.ok(
        keys.every((k) => /^[0-9a-f]{64}$/.test(k)),
        "no name or address in the table",
      );
      assert.ok(keys.includes(keyHash("address:10.9.9.9")));
      t += 61_000;
      for (let i = 0; i < 3; i++) await rl.fail([`account:later-${i}\u000010.9.9.9`]);
      assert.equal(await rl.rows(), 3, "the first failure past the window deleted the old rows");
      assert.equal(await rl.waitFor([{ key: "address:10.9.9.9", limit: 1 }]), 0);
    });

    test("exclusive (the embedded registry, the table's only writer): no query while the newest failure is older than the window", async () => {
      t += 120_000;
      const k = [{ key: "account:dave\u000010.0.0.7", limit: 1 }];
      // A failure left by the previous process, a moment before this one started.
      await db
        .insertInto("login_failures")
        .values({ key: keyHash(k[0]!.key), failed_at: t - 1000 })
        .execute();
      const rl = new LoginRateLimit(db, { now, exclusive: true });
      assert.equal(await rl.waitFor(k), 59, "it reads the newest failure once, and looks while it is in the window");
      t += 59_000;
      // Written behind its back (which the instance lock rules out): not looked for any more.
      await db
        .insertInto("login_failures")
        .values({ key: keyHash(k[0]!.key), failed_at: t })
        .execute();
      assert.equal(await rl.waitFor(k), 0, "quiet for a window: no query");
      assert.equal(await new LoginRateLimit(db, { now }).waitFor(k), 60, "a shared limiter sees it");
      await rl.fail([k[0]!.key]);
      assert.equal(await rl.waitFor(k), 60, "after a failure of its own it looks again");
    });
  };
}

describe("login rate limit on SQLite", () => {
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), "rl-"));
    const { db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations);
    return {
      db,
      async close() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  })();
});

describe("login rate limit on PostgreSQL", { skip: skipUnlessPostgres() }, () => {
  let server: PgServer | undefined;
  suite(async () => {
    server = await startPostgres();
    const { db } = await openPostgres<RegistryDatabase>(await server.createDatabase(), registryMigrations);
    return {
      db,
      async close() {
        await db.destroy();
        await server?.stop();
      },
    };
  })();
});
