import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sql, type Migration, type MigrationProvider } from "kysely";
import { startCheckpointer } from "../../lib/db/checkpointer.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { until } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "checkpointer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { "0001": { up: async (db) => void (await sql`create table t (id integer primary key, v blob)`.execute(db)) } };
  },
};

const walSize = (path: string) => statSync(`${path}-wal`).size;

describe("SQLite checkpoints on a worker thread", () => {
  test("the server's connection never checkpoints in a commit; the worker does, and the WAL is cut back", async () => {
    const path = join(dir, "server.db");
    const errors: string[] = [];
    const { db, sqlite, checkpointer } = await openSqlite(path, migrations, { backgroundCheckpoints: { onError: (m) => errors.push(m) } });
    try {
      assert.ok(checkpointer);
      assert.equal(sqlite.pragma("wal_autocheckpoint", { simple: true }), 0);
      const insert = sqlite.prepare("insert into t (v) values (?)");
      const row = Buffer.alloc(4096, 7);
      sqlite.transaction(() => {
        for (let i = 0; i < 3000; i++) insert.run(row); // about 12 MiB of pages
      })();
      assert.ok(walSize(path) > 8 * 1024 * 1024, `the WAL holds the writes (${walSize(path)} bytes)`);
      // Once the worker has checkpointed everything, the next write starts the WAL over and
      // cuts the file back to journal_size_limit.
      await until(
        "the worker to checkpoint the WAL",
        async () => {
          insert.run(Buffer.from("x"));
          return walSize(path) <= 2 * 1024 * 1024 ? true : undefined;
        },
        10_000,
        100,
      );
      assert.equal((sqlite.prepare("select count(*) as n from t").get() as { n: number }).n > 3000, true);
      assert.deepEqual(errors, []);
    } finally {
      await checkpointer?.stop();
      await db.destroy();
    }
  });

  test("a command-line connection keeps SQLite's own checkpoints", async () => {
    const { db, sqlite, checkpointer } = await openSqlite(join(dir, "cli.db"), migrations);
    assert.equal(checkpointer, undefined);
    assert.equal(sqlite.pragma("wal_autocheckpoint", { simple: true }), 1000);
    await db.destroy();
  });

  test("a worker that cannot open the database says why", async () => {
    const errors: string[] = [];
    const c = startCheckpointer(join(dir, "no-such-folder", "x.db"), { onError: (m) => errors.push(m) });
    await until("the worker's error", async () => (errors.length > 0 ? true : undefined), 10_000, 20);
    assert.match(errors[0]!, /unable to open|directory does not exist/i);
    await c.stop();
  });
});
