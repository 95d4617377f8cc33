// bench/sqlite: how long the server's event loop stops in a SQLite commit, with SQLite's own
// checkpoints (inside the commit that fills the WAL) against checkpoints on a worker thread
// (lib/db/checkpointer.ts), while the disk is busy with another writer's flushes (dd with
// fdatasync in a loop, as a large push or a collection's deletes keep it busy).
// Each commit is a push's worth of rows; better-sqlite3 is synchronous, so a commit's time is
// time the server's whole event loop is stopped. Run by hand: `bash bench/sqlite/run.sh`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql, type Migration } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";

const DURATION_S = Number(process.env.DURATION_S ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const migrations = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { "0001": { up: async (db) => void (await sql`create table rows (id integer primary key, digest text, body blob)`.execute(db)) } };
  },
};

/** dd writing and syncing 256 MiB over and over until stopped. */
function diskLoad(dir: string): () => void {
  let child: ChildProcess | undefined;
  let stopped = false;
  const again = () => {
    if (stopped) return;
    child = spawn("dd", ["if=/dev/zero", `of=${join(dir, "load")}`, "bs=1M", "count=256", "conv=fdatasync"], { stdio: "ignore" });
    child.once("exit", again);
  };
  again();
  return () => {
    stopped = true;
    child?.kill();
  };
}

async function measure(dir: string, worker: boolean): Promise<number[]> {
  const path = join(dir, `${worker ? "worker" : "inline"}-${Date.now()}.db`);
  const { db, sqlite, checkpointer } = await openSqlite(path, migrations, worker ? { backgroundCheckpoints: { onError: (m) => console.error(m) } } : {});
  const insert = sqlite.prepare("insert into rows (digest, body) values (?, ?)");
  const body = Buffer.alloc(1024, 1);
  const commit = sqlite.transaction(() => {
    for (let i = 0; i < 5; i++) insert.run(`sha256:${i}`, body);
  });
  const stop = diskLoad(dir);
  const lat: number[] = [];
  const end = performance.now() + DURATION_S * 1000;
  try {
    while (performance.now() < end) {
      const t = performance.now();
      commit();
      lat.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    stop();
    await checkpointer?.stop();
    await db.destroy();
  }
  return lat.sort((a, b) => a - b);
}

const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"));
try {
  console.log(`commits of 5 rows for ${DURATION_S} s while dd writes and syncs 256 MiB in a loop; ${ROUNDS} rounds each, alternating`);
  console.log("| checkpoints | commits | p50 ms | p99 ms | p99.9 ms | max ms | commits > 10 ms |");
  console.log("|---|---|---|---|---|---|---|");
  for (let r = 0; r < ROUNDS; r++) {
    for (const worker of [false, true]) {
      const lat = await measure(dir, worker);
      const slow = lat.filter((x) => x > 10).length;
      console.log(
        `| ${worker ? "worker thread" : "inside commits"} | ${lat.length} | ${pct(lat, 0.5).toFixed(2)} | ${pct(lat, 0.99).toFixed(2)} | ${pct(lat, 0.999).toFixed(2)} | ${lat.at(-1)!.toFixed(1)} | ${slow} |`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
