// Failed login attempts per key within a sliding window, kept in the registry's database so
// that replicas on one PostgreSQL count the same failures: an attacker who spreads guesses
// over N replicas gets the budget of one, not N times it. Once a key has `limit` failures in
// the window, every attempt for it waits until the oldest of them leaves the window.
//
// One row per failure and key (keys are SHA-256 hashes: fixed length, and no user name or
// address is stored here). Checking costs one indexed query for all the keys of a login,
// which is all a successful login pays; on the embedded SQLite database, which only this
// process writes, not even that while no failure is in the window (it reads the newest left
// by an earlier process once, then keeps the time of its own). A failure (already a scrypt
// hash) adds one insert,
// and at most every `pruneEveryMs` a delete of the rows that have left the window. Rows are
// written only after a password check, which mcr runs at most two at a time, so the table
// holds at most the last window's failures (plus `pruneEveryMs` of them): a flood of
// made-up names cannot grow it beyond that.
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { RegistryDatabase } from "../db/schema.ts";

export interface LimitedKey {
  /** What is counted: `account:<name>\0<address>`, `address:<address>`. Stored only as a hash. */
  key: string;
  /** Failures allowed in the window. */
  limit: number;
}

export interface LoginRateLimitOptions {
  windowMs?: number;
  /** Rows older than the window are deleted at most this often, on the failure path (default 10 s). */
  pruneEveryMs?: number;
  /**
   * No other process writes the table (the embedded SQLite registry, which its instance lock
   * keeps to one server): while the newest failure is older than the window, there is none
   * to look for.
   */
  exclusive?: boolean;
  now?: () => number;
}

export const keyHash = (key: string) => createHash("sha256").update(key).digest("hex");

export class LoginRateLimit {
  private readonly windowMs: number;
  private readonly pruneEveryMs: number;
  private readonly now: () => number;
  private lastPrune = 0;
  private readonly exclusive: boolean;
  /** The newest failure in the table (exclusive only): read once, then this process's own. */
  private lastFailure: Promise<number> | undefined;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    opts: LoginRateLimitOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.pruneEveryMs = opts.pruneEveryMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.exclusive = opts.exclusive ?? false;
  }

  private newestFailure(): Promise<number> {
    this.lastFailure ??= this.db
      .selectFrom("login_failures")
      .select((eb) => eb.fn.max("failed_at").as("newest"))
      .executeTakeFirst()
      .then((r) => (r?.newest == null ? Number.NEGATIVE_INFINITY : Number(r.newest)))
      .catch((err: unknown) => {
        this.lastFailure = undefined; // asked again next time
        throw err;
      });
    return this.lastFailure;
  }

  /** Seconds to wait before an attempt with these keys may be made; 0 when it may be made now. */
  async waitFor(keys: LimitedKey[]): Promise<number> {
    const t = this.now();
    if (this.exclusive && t - (await this.newestFailure()) >= this.windowMs) return 0;
    const limits = new Map(keys.map((k) => [keyHash(k.key), k.limit]));
    const rows = await this.db
      .selectFrom("login_failures")
      .select((eb) => ["key", eb.fn.countAll<number>().as("n"), eb.fn.min("failed_at").as("oldest")])
      .where("key", "in", [...limits.keys()])
      .where("failed_at", ">", t - this.windowMs)
      .groupBy("key")
      .execute();
    let wait = 0;
    for (const r of rows) {
      if (Number(r.n) < limits.get(r.key)!) continue;
      wait = Math.max(wait, 1, Math.ceil((Number(r.oldest) + this.windowMs - t) / 1000));
    }
    return wait;
  }

  /** Records a failed attempt under each key. */
  async fail(keys: string[]): Promise<void> {
    const t = this.now();
    if (this.exclusive) this.lastFailure = Promise.resolve(t);
    await this.db
      .insertInto("login_failures")
      .values(keys.map((k) => ({ key: keyHash(k), failed_at: t })))
      .execute();
    if (t - this.lastPrune >= this.pruneEveryMs) {
      this.lastPrune = t;
      await this.prune();
    }
  }

  /** Deletes the rows that have left the window; returns how many. */
  async prune(): Promise<number> {
    const res = await this.db
      .deleteFrom("login_failures")
      .where("failed_at", "<=", this.now() - this.windowMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Rows held now (tests). */
  async rows(): Promise<number> {
    const r = await this.db
      .selectFrom("login_failures")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
