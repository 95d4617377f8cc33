// The registry's locks as PostgreSQL advisory locks, for replicas sharing one database.
//
// Keyed and shared locks are taken with pg_try_advisory_lock(_shared) on one connection per
// replica (the "lock session"), polled with a short backoff, after the same lock in this
// process's memory: the session holds a key for one local holder at a time, and a replica
// never needs more than one connection for its locks however many uploads it serves. GC's
// exclusive side waits with the blocking pg_advisory_lock on a connection of its own: a
// waiting exclusive request makes PostgreSQL refuse new shared ones, so commits on other
// replicas cannot starve the mark. A replica that dies (kill -9) loses its connections and
// PostgreSQL releases its locks at once.
import { createHash } from "node:crypto";
import type pg from "pg";
import type { Logger } from "../../lib/log/logger.ts";
import { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import { RwLock } from "../../lib/sync/rw-lock.ts";
import type { KeyLock, RegistryLocks, SharedLock } from "./types.ts";

/** Advisory lock classes ("mcr" and a number), so mcr's locks cannot meet another program's. */
const CLASS = { uploads: 0x6d637201, digests: 0x6d637202, commits: 0x6d637203, gc: 0x6d637204 } as const;

/** A key's 32-bit lock id. Two keys may share one: they then merely wait for each other. */
export function lockId(key: string): number {
  return createHash("sha256").update(key).digest().readInt32BE(0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class LockSession {
  private client: Promise<pg.Client> | undefined;

  constructor(
    private readonly connect: () => Promise<pg.Client>,
    private readonly log: Logger,
  ) {}

  private conn(): Promise<pg.Client> {
    this.client ??= this.connect().then(
      (c) => {
        c.on("error", (err) => {
          // PostgreSQL has released every lock this session held; holders in flight go on unprotected.
          this.log.error({ err }, "lost the database connection that holds this replica's locks; reconnecting for the next lock");
          this.client = undefined;
        });
        return c;
      },
      (err) => {
        this.client = undefined;
        throw err;
      },
    );
    return this.client;
  }

  async query(text: string, values: unknown[]): Promise<boolean> {
    const r = await (await this.conn()).query(text, values);
    return Boolean(Object.values(r.rows[0] ?? {})[0]);
  }

  /** Polls the try-variant until it succeeds. */
  async take(fn: "pg_try_advisory_lock" | "pg_try_advisory_lock_shared", cls: number, id: number): Promise<void> {
    for (let wait = 2; !(await this.query(`select ${fn}($1, $2)`, [cls, id])); wait = Math.min(wait * 2, 100)) await sleep(wait);
  }

  async release(fn: "pg_advisory_unlock" | "pg_advisory_unlock_shared", cls: number, id: number): Promise<void> {
    await this.query(`select ${fn}($1, $2)`, [cls, id]).catch((err) =>
      this.log.warn({ err }, "could not release an advisory lock (its connection is gone, and the lock with it)"),
    );
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.then((x) => x.end()).catch(() => undefined);
  }
}

export async function advisoryLocks(url: string, log: Logger): Promise<RegistryLocks> {
  const { Client } = (await import("pg")).default;
  const connect = async () => {
    // Server-side keepalives on lock connections: a replica whose host vanishes without closing
    // its sockets loses its locks within about a minute, not after the kernel's two hours.
    const c = new Client({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      options: "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3",
    });
    c.on("error", (err) => log.warn({ err }, "advisory lock connection failed"));
    await c.connect();
    return c;
  };
  const session = new LockSession(connect, log);

  const keyLock = (cls: number): KeyLock => {
    const local = new KeyedLock();
    return {
      run: (key, fn) =>
        local.run(key, async () => {
          const id = lockId(key);
          await session.take("pg_try_advisory_lock", cls, id);
          try {
            return await fn();
          } finally {
            await session.release("pg_advisory_unlock", cls, id);
          }
        }),
    };
  };

  const localCommits = new RwLock();
  const commits: SharedLock = {
    shared: (fn) =>
      localCommits.shared(async () => {
        await session.take("pg_try_advisory_lock_shared", CLASS.commits, 0);
        try {
          return await fn();
        } finally {
          await session.release("pg_advisory_unlock_shared", CLASS.commits, 0);
        }
      }),
    exclusive: (fn) =>
      localCommits.exclusive(async () => {
        const c = await connect();
        try {
          await c.query("select pg_advisory_lock($1, 0)", [CLASS.commits]);
          return await fn();
        } finally {
          // Unlocked explicitly: a closed connection's locks go only when its backend exits.
          await c.query("select pg_advisory_unlock($1, 0)", [CLASS.commits]).catch(() => undefined);
          await c.end().catch(() => undefined);
        }
      }),
  };

  return {
    uploads: keyLock(CLASS.uploads),
    digests: keyLock(CLASS.digests),
    commits,
    gcRun: {
      async tryAcquire() {
        // Its own connection, held for the run: released when the run ends or the replica dies.
        const c = await connect();
        const r = await c.query("select pg_try_advisory_lock($1, 0) as ok", [CLASS.gc]).catch(async (err) => {
          await c.end().catch(() => undefined);
          throw err;
        });
        if (!r.rows[0]?.ok) {
          await c.end().catch(() => undefined);
          return undefined;
        }
        c.on("error", (err) => log.error({ err }, "lost the connection holding the GC lock"));
        return async () => {
          await c.query("select pg_advisory_unlock($1, 0)", [CLASS.gc]).catch(() => undefined);
          await c.end().catch(() => undefined);
        };
      },
    },
    close: () => session.close(),
  };
}
