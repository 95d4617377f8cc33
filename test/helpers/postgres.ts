// A real PostgreSQL (Debian's postgresql package) for the tests: `initdb` into a temporary
// folder, started on a free loopback port, each test on its own database; stop() stops the
// server and removes the folder. PostgreSQL refuses to run as root: as root (CI) it runs as
// the `postgres` user the package creates.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = join(root, v, "bin");
    if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "pg_ctl"))) return bin;
  }
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    return undefined;
  }
}

/** A `skip` value like skipUnlessTools: locally a reason to skip, on CI (CI=true) an error. */
export function skipUnlessPostgres(): string | false {
  let problem: string | undefined;
  if (!postgresBinDir()) problem = "missing PostgreSQL server (apt-get install postgresql)";
  else if (process.getuid?.() === 0 && !postgresUser()) problem = "running as root and there is no postgres user to run PostgreSQL as";
  if (problem === undefined) return false;
  if (process.env.CI === "true") throw new Error(`${problem} (required on CI)`);
  return problem;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  port: number;
  /** A connection URL for database `db` (default `postgres`). */
  url(db?: string): string;
  /** Creates a new empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs SQL as the superuser on database `db`. */
  query(text: string, db?: string): Promise<pg.QueryResult>;
  /** Stops the server (fast shutdown: clients are disconnected) and starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startPostgres(): Promise<PgServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("no PostgreSQL server installed");
  const dir = mkdtempSync(join(tmpdir(), "pg-test-"));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  if (user) chownSync(dir, user.uid, user.gid);
  // As root: run as postgres, keeping the working directory out of root's folders.
  const pgRun = (cmd: string, args: string[]) =>
    user ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { cwd: dir }) : run(join(bin, cmd), args, { cwd: dir });
  const data = join(dir, "data");
  await pgRun("initdb", ["-D", data, "-A", "trust", "-U", "mcr", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]);
  let port = 0;
  // fsync off: a test cluster, thrown away afterwards.
  const opts = () => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = () => pgRun("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-t", "30", "-o", opts(), "start"]);
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err; // a port taken between the check and the start: try another
      }
    }
  }
  const url = (db = "postgres") => `postgres://mcr@127.0.0.1:${port}/${db}`;
  const query = async (text: string, db?: string) => {
    const c = new pg.Client({ connectionString: url(db) });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    url,
    query,
    async createDatabase(name = `t${process.pid}_${++counter}`) {
      await query(`create database "${name}"`);
      return url(name);
    },
    async halt() {
      await pgRun("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
    },
    async resume() {
      await start();
    },
    async stop() {
      await pgRun("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
