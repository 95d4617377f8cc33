// The embedded identity service: MCIAS's login/validate/logout over mcr's own
// database. Tokens are 256-bit random strings stored only as SHA-256 hashes.
import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { InvalidCredentialsError, RateLimitedError, type Claims, type IdentityProvider, type IssuedToken, type LoginRequest } from "../../lib/auth/types.ts";
import { dialectOf } from "../db/dialect.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { AccountStore } from "./accounts.ts";
import { CredentialCache } from "./credential-cache.ts";
import { LoginRateLimit } from "./rate-limit.ts";

export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");

export interface EmbeddedIdentityOptions {
  tokenTtlMs: number;
  /** Login attempts allowed per account and per source address each minute. */
  loginsPerMinute: number;
  now?: () => number;
  /** How long a successful password check is remembered (default 60 s; 0 = never). */
  credentialCacheMs?: number;
}

export class EmbeddedIdentity implements IdentityProvider {
  readonly accounts: AccountStore;
  /** Failed logins, counted in the database: replicas share them (rate-limit.ts). */
  readonly failures: LoginRateLimit;
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly opts: EmbeddedIdentityOptions,
  ) {
    this.now = opts.now ?? Date.now;
    const cacheMs = opts.credentialCacheMs ?? 60_000;
    this.accounts = new AccountStore(db, cacheMs > 0 ? new CredentialCache(cacheMs, 10_000, this.now) : undefined);
    // On SQLite this process is the table's only writer (registry/server/instance-lock.ts).
    this.failures = new LoginRateLimit(db, { now: this.now, exclusive: dialectOf(db) === "sqlite" });
  }

  async login(req: LoginRequest): Promise<IssuedToken> {
    // Failures are limited per (account, address) pair, and more loosely per address so that
    // spraying many accounts from one address does not get far either. Successes never count:
    // podman fetches a token on every command.
    // One query checks both; a success pays nothing more.
    const pair = `account:${req.username}\u0000${req.source ?? ""}`;
    const addr = `address:${req.source ?? ""}`;
    const wait = await this.failures.waitFor([
      { key: pair, limit: this.opts.loginsPerMinute },
      { key: addr, limit: this.opts.loginsPerMinute * 10 },
    ]);
    if (wait > 0) throw new RateLimitedError(wait);
    const account = await this.accounts.authenticate(req.username, req.password);
    if (!account) {
      await this.failures.fail([pair, addr]);
      throw new InvalidCredentialsError();
    }
    const token = randomBytes(32).toString("base64url");
    const issued = this.now();
    const expiresAt = new Date(issued + this.opts.tokenTtlMs).toISOString();
    await this.db
      .insertInto("tokens")
      .values({
        token_hash: tokenHash(token),
        account_id: account.id,
        service_name: req.serviceName,
        tags: JSON.stringify(req.tags),
        issued_at: new Date(issued).toISOString(),
        expires_at: expiresAt,
      })
      .execute();
    return { token, expiresAt };
  }

  async validate(token: string): Promise<Claims | null> {
    if (token.length === 0 || token.length > 512) return null;
    const row = await this.db
      .selectFrom("tokens as t")
      .innerJoin("accounts as a", "a.id", "t.account_id")
      .select(["a.id", "a.username", "a.account_type", "a.roles", "a.disabled", "t.expires_at", "t.revoked_at", "t.service_name"])
      .where("t.token_hash", "=", tokenHash(token))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.disabled || Date.parse(row.expires_at) <= this.now()) return null;
    return {
      subject: row.id,
      username: row.username,
      accountType: row.account_type,
      roles: JSON.parse(row.roles),
      expiresAt: row.expires_at,
      audience: row.service_name,
    };
  }

  async logout(token: string): Promise<void> {
    await this.db
      .updateTable("tokens")
      .set({ revoked_at: new Date(this.now()).toISOString() })
      .where("token_hash", "=", tokenHash(token))
      .where("revoked_at", "is", null)
      .execute();
  }

  /** Drops tokens that expired more than a day ago. */
  async pruneTokens(): Promise<number> {
    const cutoff = new Date(this.now() - 86_400_000).toISOString();
    const res = await this.db.deleteFrom("tokens").where("expires_at", "<", cutoff).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
