// Token validation cached for 30 s, keyed by SHA-256 of the token (docs/security.md).
// While the identity server is down, cached results keep working until their
// 30 s are up; then validation fails with IdentityUnavailableError.
import { createHash } from "node:crypto";
import type { Claims, IdentityProvider, IssuedToken, LoginRequest } from "./types.ts";

interface Entry {
  claims: Claims | null;
  until: number;
}

export interface CacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class CachedIdentity implements IdentityProvider {
  private readonly entries = new Map<string, Entry>();
  /** Validations on their way: a burst of calls with one token asks the identity server once. */
  private readonly pending = new Map<string, Promise<Claims | null>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: IdentityProvider,
    opts: CacheOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  login(req: LoginRequest): Promise<IssuedToken> {
    return this.inner.login(req);
  }

  async validate(token: string): Promise<Claims | null> {
    const key = createHash("sha256").update(token).digest("hex");
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && t < hit.until) {
      if (hit.claims && Date.parse(hit.claims.expiresAt) <= t) return null;
      return hit.claims;
    }
    const asked = this.pending.get(key);
    if (asked) return asked;
    const p = this.inner
      .validate(token) // IdentityUnavailableError propagates: the entry has expired
      .then((claims) => {
        if (this.entries.size >= this.maxEntries) this.evictExpired(t);
        this.entries.set(key, { claims, until: t + this.ttlMs });
        return claims;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  async logout(token: string): Promise<void> {
    this.entries.delete(createHash("sha256").update(token).digest("hex"));
    await this.inner.logout(token);
  }

  private evictExpired(t: number): void {
    for (const [k, e] of this.entries) if (e.until <= t) this.entries.delete(k);
    // Still full: drop the oldest (Map keeps insertion order).
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m ? m[1] : undefined;
}
