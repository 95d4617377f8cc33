// Pull tokens: what mcr hands an account that must let a less trusted process pull one image
// (the agent, for a service user's podman). A pull token may only pull one repository, for
// about a minute; whoever reads it from a pipe gets no more than that. Grants live in mcr's
// database, so every replica on PostgreSQL honours them, and only as SHA-256 hashes.
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Claims } from "../../lib/auth/types.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { tokenHash } from "../identity/embedded.ts";

/** Marks a pull token, so that it is never sent to the identity server nor tried as a password. */
export const PULL_TOKEN_PREFIX = "mcr-pull-";
/** The longest a pull token lives; a caller may ask for less. */
export const PULL_TOKEN_MAX_TTL_MS = 60_000;
/** Expired grants are deleted at most this often while tokens are being issued (and hourly by Maintenance). */
const PRUNE_EVERY_MS = 60_000;

/** Whether `token` has the form of a pull token (its prefix and 43 base64url characters). */
export function isPullToken(token: string): boolean {
  return token.length === PULL_TOKEN_PREFIX.length + 43 && token.startsWith(PULL_TOKEN_PREFIX);
}

export interface PullGrant {
  /** The issuing caller's identity, with the grant's own expiry. */
  claims: Claims;
  /** The one repository the token may pull. */
  repository: string;
}

export interface IssuedPullToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}

export class PullTokenStore {
  private lastPrune = 0;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    /** Audience of the claims a grant yields (mcr's `[mcias] service_name`). */
    private readonly serviceName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new token for `claims`' account that may pull `repository` for `ttlMs` (at most PULL_TOKEN_MAX_TTL_MS). */
  async issue(claims: Claims, repository: string, ttlMs = PULL_TOKEN_MAX_TTL_MS): Promise<IssuedPullToken> {
    const now = this.now();
    const token = PULL_TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const expiresAt = new Date(now + Math.min(ttlMs, PULL_TOKEN_MAX_TTL_MS)).toISOString();
    await this.db
      .insertInto("pull_tokens")
      .values({
        token_hash: tokenHash(token),
        repository,
        account_id: claims.subject,
        username: claims.username,
        account_type: claims.accountType,
        roles: JSON.stringify(claims.roles),
        issued_at: new Date(now).toISOString(),
        expires_at: expiresAt,
      })
      .execute();
    // A busy caller must not pile up an hour of grants before Maintenance comes round.
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.prune();
    }
    return { token, expiresAt };
  }

  /** The grant of a live pull token, or null when it is unknown or expired. */
  async validate(token: string): Promise<PullGrant | null> {
    if (!isPullToken(token)) return null;
    const row = await this.db.selectFrom("pull_tokens").selectAll().where("token_hash", "=", tokenHash(token)).executeTakeFirst();
    if (!row || Date.parse(row.expires_at) <= this.now()) return null;
    return {
      claims: {
        subject: row.account_id,
        username: row.username,
        accountType: row.account_type,
        roles: JSON.parse(row.roles),
        expiresAt: row.expires_at,
        audience: this.serviceName,
      },
      repository: row.repository,
    };
  }

  /** Deletes expired grants; returns how many. */
  async prune(): Promise<number> {
    const res = await this.db.deleteFrom("pull_tokens").where("expires_at", "<=", new Date(this.now()).toISOString()).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
