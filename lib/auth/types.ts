// The MCIAS-compatible identity contract every service relies on (docs/security.md, "Identity").
export type AccountType = "human" | "system";
export type Role = "admin" | "user" | "guest";
export const ROLES: readonly Role[] = ["admin", "user", "guest"];

export interface LoginRequest {
  username: string;
  password: string;
  serviceName: string;
  tags: string[];
  /** Client address, for rate limiting and audit. */
  source?: string;
}

export interface IssuedToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}

export interface Claims {
  subject: string;
  username: string;
  accountType: AccountType;
  roles: Role[];
  expiresAt: string;
  /** The service the token was issued for (login's service_name): each service takes only its own. */
  audience: string;
}

/** Why a token issued for another service is refused here, or null when it is this service's. */
export function audienceError(claims: Claims, service: string): string | null {
  if (claims.audience === service) return null;
  if (!claims.audience) return `the identity server did not say which service this token is for; ${service} needs a token issued for it`;
  return `this token was issued for ${claims.audience}, not ${service}: log in for ${service} (service_name "${service}")`;
}

export interface IdentityProvider {
  /** Throws InvalidCredentialsError, RateLimitedError or IdentityUnavailableError. */
  login(req: LoginRequest): Promise<IssuedToken>;
  /** The token's claims, or null when it is unknown, expired or revoked. */
  validate(token: string): Promise<Claims | null>;
  logout(token: string): Promise<void>;
}

export class InvalidCredentialsError extends Error {
  override name = "InvalidCredentialsError";
  constructor() {
    super("invalid username or password");
  }
}

export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(readonly retryAfterSeconds: number) {
    super(`too many login attempts; try again in ${retryAfterSeconds} s`);
  }
}

export class IdentityUnavailableError extends Error {
  override name = "IdentityUnavailableError";
}
