// Remembers successful password checks for a short time, so that clients asking for a
// token on nearly every operation (podman, skopeo) do not queue on scrypt. Keyed by an
// HMAC of username and password under a key made at start-up and never stored: the
// password itself is not kept. A hit counts only while the account's row is unchanged
// (same password hash, same updated_at, enabled), so a password, role or state change
// made by any process (mcr account in another one included) ends it at once; changes
// made through this process also drop the entries. Failures are never remembered.
import { createHmac, randomBytes } from "node:crypto";

interface Entry {
  username: string;
  passwordHash: string;
  updatedAt: string;
  expiresAt: number;
}

export interface RowState {
  password_hash: string;
  updated_at: string;
  disabled: number;
}

export class CredentialCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Entry>();
  /** Checks answered from the cache, and those that needed scrypt (tests, bench/token). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private id(username: string, password: string): string {
    return createHmac("sha256", this.key).update(username).update("\u0000").update(password).digest("base64url");
  }

  /** True when this username and password were verified within the TTL and the row has not changed since. */
  matches(username: string, password: string, row: RowState): boolean {
    const id = this.id(username, password);
    const e = this.entries.get(id);
    if (!e) return this.miss();
    if (e.expiresAt <= this.now() || e.username !== username || e.passwordHash !== row.password_hash || e.updatedAt !== row.updated_at || row.disabled) {
      this.entries.delete(id);
      return this.miss();
    }
    this.hits++;
    return true;
  }

  private miss(): false {
    this.misses++;
    return false;
  }

  remember(username: string, password: string, row: RowState): void {
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(this.id(username, password), { username, passwordHash: row.password_hash, updatedAt: row.updated_at, expiresAt: this.now() + this.ttlMs });
  }

  /** Forgets every entry of `username` (its password, roles or state changed). */
  forget(username: string): void {
    for (const [id, e] of this.entries) if (e.username === username) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    const t = this.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= t) this.entries.delete(id);
    // Still full: drop the oldest (Map keeps insertion order).
    for (const id of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(id);
    }
  }
}
