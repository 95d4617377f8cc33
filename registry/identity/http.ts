// The identity endpoints on mcr's listener: the MCIAS-compatible JSON API
// (embedded mode only) and the Docker token endpoint used by podman/skopeo login.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "../../lib/auth/cache.ts";
import {
  audienceError,
  IdentityUnavailableError,
  InvalidCredentialsError,
  RateLimitedError,
  type Claims,
  type IdentityProvider,
} from "../../lib/auth/types.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { clientAddress } from "../auth/access.ts";
import { isPullToken, type PullTokenStore } from "../auth/pull-tokens.ts";
import { OciError, writeOciError } from "../oci/errors.ts";
import { readBody, sendEmpty, sendJson } from "../oci/http.ts";

export interface IdentityHttpDeps {
  identity: IdentityProvider;
  /** True when `identity` is mcr's own (embedded); the JSON API is served only then. */
  embedded: boolean;
  audit: AuditLog;
  serviceName: string;
  /** Pull tokens are taken as the Basic password of their account too (docs/security.md). */
  pullTokens?: PullTokenStore;
}

const MAX_BODY = 64 * 1024;
/**
 * Longer user names are refused before anything is checked, stored or logged: account
 * names are at most 64 characters, and every failed login's name goes to the audit log.
 */
export const MAX_USERNAME_BYTES = 256;
const usernameTooLong = (username: string) => Buffer.byteLength(username) > MAX_USERNAME_BYTES;
const TOO_LONG = `the user name is longer than ${MAX_USERNAME_BYTES} bytes`;
const reasonOf = (err: InvalidCredentialsError | RateLimitedError | InvalidPullTokenError) => (err instanceof RateLimitedError ? "rate limited" : err.message);

/** A pull token that is expired, unknown or another account's, given as a password. */
class InvalidPullTokenError extends Error {
  constructor() {
    super("this pull token is unknown, has expired or is not this account's");
  }
}

export class JsonError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body: Buffer;
  try {
    body = await readBody(req, MAX_BODY, "request body", "SIZE_INVALID");
  } catch (err) {
    if (err instanceof OciError) throw new JsonError(err.status, err.message);
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    throw new JsonError(400, "request body is not valid JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new JsonError(400, "request body must be a JSON object");
  return doc as Record<string, unknown>;
}

function str(doc: Record<string, unknown>, key: string, required = true): string {
  const v = doc[key];
  if (v === undefined && !required) return "";
  if (typeof v !== "string" || (required && v === "")) throw new JsonError(400, `${key} must be a non-empty string`);
  return v;
}

function loginError(err: unknown): JsonError {
  if (err instanceof InvalidCredentialsError) return new JsonError(401, err.message);
  if (err instanceof RateLimitedError) return new JsonError(429, err.message, { "Retry-After": String(err.retryAfterSeconds) });
  if (err instanceof IdentityUnavailableError) return new JsonError(503, err.message);
  return err as JsonError;
}

/** Handles /v1/auth/* and /v1/token/validate; returns false when the path is not one of them. */
export async function handleIdentityApi(deps: IdentityHttpDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (path !== "/v1/auth/login" && path !== "/v1/auth/logout" && path !== "/v1/token/validate") return false;
  try {
    if (!deps.embedded) throw new JsonError(404, "this registry uses an external identity server ([mcias] server_url)");
    if (req.method !== "POST") throw new JsonError(405, `${req.method} is not supported; use POST`, { Allow: "POST" });
    const ip = clientAddress(req);
    if (path === "/v1/auth/login") {
      const doc = await readJson(req);
      const username = str(doc, "username");
      if (usernameTooLong(username)) {
        deps.audit.loginFailed({ ip, via: "api", reason: TOO_LONG });
        throw new JsonError(400, TOO_LONG);
      }
      const password = str(doc, "password");
      const tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === "string") : [];
      try {
        const issued = await deps.identity.login({ username, password, serviceName: str(doc, "service_name", false) || deps.serviceName, tags, source: ip });
        deps.audit.record({ type: "login_ok", actor: username, ip, details: { via: "api" } });
        sendJson(res, 200, { token: issued.token, expires_at: issued.expiresAt });
      } catch (err) {
        if (err instanceof InvalidCredentialsError || err instanceof RateLimitedError)
          deps.audit.loginFailed({ actor: username, ip, via: "api", reason: reasonOf(err) });
        throw loginError(err);
      }
    } else if (path === "/v1/token/validate") {
      const token = str(await readJson(req), "token");
      const claims = await deps.identity.validate(token);
      if (!claims) sendJson(res, 200, { valid: false });
      else
        sendJson(res, 200, {
          valid: true,
          subject: claims.subject,
          username: claims.username,
          account_type: claims.accountType,
          roles: claims.roles,
          expires_at: claims.expiresAt,
          service_name: claims.audience,
        });
    } else {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new JsonError(401, "logout needs the token as Authorization: Bearer");
      const claims = await deps.identity.validate(token);
      await deps.identity.logout(token);
      if (claims) deps.audit.record({ type: "logout", actor: claims.subject, ip });
      sendEmpty(res, 204);
    }
  } catch (err) {
    const e = err instanceof JsonError ? err : loginError(err);
    if (!(e instanceof JsonError)) throw err;
    sendJson(res, e.status, { error: e.message }, e.headers);
  }
  return true;
}

/** Claims of `password` when it is a live token of `username` issued for this registry; else null. */
async function tokenAsPassword(deps: IdentityHttpDeps, username: string, password: string): Promise<Claims | null> {
  // A pull token is checked here only: never sent to an identity server, never tried as a password.
  if (isPullToken(password)) {
    const grant = await deps.pullTokens?.validate(password);
    return grant && grant.claims.username === username ? grant.claims : null;
  }
  // Embedded tokens are 43 base64url characters; an external server's may differ, but a
  // password with spaces or longer than a token can be is never sent to validation.
  if (password.length < 20 || password.length > 512 || !/^[A-Za-z0-9._~+/=-]+$/.test(password)) return null;
  const claims = await deps.identity.validate(password);
  if (!claims || claims.username !== username || audienceError(claims, deps.serviceName)) return null;
  return claims;
}

/** GET /v2/token: HTTP Basic credentials for a bearer token (the Docker token flow). */
export async function handleTokenEndpoint(deps: IdentityHttpDeps, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const ip = clientAddress(req);
  const unauthorized = (message: string) =>
    writeOciError(res, new OciError("UNAUTHORIZED", message, undefined, 401, { "WWW-Authenticate": `Basic realm="${deps.serviceName}"` }));
  if (req.method !== "GET" && req.method !== "HEAD") {
    return writeOciError(res, new OciError("UNSUPPORTED", `${req.method} is not supported on the token endpoint`, undefined, 405, { Allow: "GET" }));
  }
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? "");
  if (!m) return unauthorized("the token endpoint needs HTTP Basic credentials");
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 1) return unauthorized("malformed Basic credentials");
  const username = decoded.slice(0, colon);
  if (usernameTooLong(username)) {
    deps.audit.loginFailed({ ip, via: "token", reason: TOO_LONG });
    return unauthorized(TOO_LONG);
  }
  const password = decoded.slice(colon + 1);
  const service = query.get("service") || deps.serviceName;
  try {
    // A valid platform token issued for this registry, given as the password (as GitLab and
    // GHCR accept access tokens), is answered with itself: `mcp build` hands podman a
    // temporary auth file with the token, so no password is written anywhere. The token is
    // not renewed (its expiry stays), it must be the named account's, and a token issued
    // for another service is not taken. Anything else is tried as a password.
    const claims = service === deps.serviceName ? await tokenAsPassword(deps, username, password) : null;
    if (claims) {
      const credential = isPullToken(password) ? "pull_token" : "token";
      deps.audit.record({ type: "login_ok", actor: username, ip, details: { via: "token", credential, scope: query.get("scope") ?? "" } });
      const now = new Date();
      return sendJson(res, 200, {
        token: password,
        access_token: password,
        expires_in: Math.max(0, Math.floor((Date.parse(claims.expiresAt) - now.getTime()) / 1000)),
        issued_at: now.toISOString(),
      });
    }
    if (isPullToken(password)) throw new InvalidPullTokenError();
    const issued = await deps.identity.login({ username, password, serviceName: service, tags: [], source: ip });
    deps.audit.record({ type: "login_ok", actor: username, ip, details: { via: "token", scope: query.get("scope") ?? "" } });
    const now = new Date();
    sendJson(res, 200, {
      token: issued.token,
      access_token: issued.token,
      expires_in: Math.max(0, Math.floor((Date.parse(issued.expiresAt) - now.getTime()) / 1000)),
      issued_at: now.toISOString(),
    });
  } catch (err) {
    if (err instanceof InvalidCredentialsError || err instanceof InvalidPullTokenError) {
      deps.audit.loginFailed({ actor: username, ip, via: "token", reason: reasonOf(err) });
      return unauthorized(err.message);
    }
    if (err instanceof RateLimitedError) {
      deps.audit.loginFailed({ actor: username, ip, via: "token", reason: reasonOf(err) });
      return writeOciError(res, new OciError("TOOMANYREQUESTS", err.message, undefined, 429, { "Retry-After": String(err.retryAfterSeconds) }));
    }
    if (err instanceof IdentityUnavailableError) return writeOciError(res, new OciError("UNAVAILABLE", err.message, undefined, 503));
    throw err;
  }
}
