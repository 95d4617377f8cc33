// POST /v1/auth/pull-token: a caller that may pull a repository gets a token that may only
// pull that repository, for at most a minute (registry/auth/pull-tokens.ts). The agent asks
// for one per pull it hands to a service user's podman, instead of handing it its password.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "../../lib/auth/cache.ts";
import { audienceError, IdentityUnavailableError, type IdentityProvider } from "../../lib/auth/types.ts";
import { markAuthenticated } from "../../lib/net/connection-guard.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { clientAddress, type RegistryAccess } from "../auth/access.ts";
import { isPullToken, PULL_TOKEN_MAX_TTL_MS, type PullTokenStore } from "../auth/pull-tokens.ts";
import { OciError } from "../oci/errors.ts";
import { sendJson } from "../oci/http.ts";
import { isValidName } from "../oci/names.ts";
import { JsonError, readJson } from "./http.ts";

export const PULL_TOKEN_PATH = "/v1/auth/pull-token";

export interface PullTokenHttpDeps {
  identity: IdentityProvider;
  access: RegistryAccess;
  pullTokens: PullTokenStore;
  audit: AuditLog;
  serviceName: string;
}

const MAX_TTL_SECONDS = PULL_TOKEN_MAX_TTL_MS / 1000;
const FIELDS = new Set(["repository", "expires_in"]);

/** The repository and lifetime asked for; JsonError 400 naming the field otherwise. */
function parseRequest(doc: Record<string, unknown>): { repository: string; ttlMs: number } {
  const unknown = Object.keys(doc).filter((k) => !FIELDS.has(k));
  if (unknown.length) throw new JsonError(400, `unknown field ${JSON.stringify(unknown[0]!.slice(0, 64))}: a pull token request has repository and expires_in`);
  const repository = doc.repository;
  if (typeof repository !== "string" || repository === "") throw new JsonError(400, "repository must be a non-empty string");
  if (!isValidName(repository)) throw new JsonError(400, `repository ${JSON.stringify(repository.slice(0, 64))} is not a valid repository name`);
  const ttl = doc.expires_in ?? MAX_TTL_SECONDS;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new JsonError(400, `expires_in must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
  return { repository, ttlMs: ttl * 1000 };
}

export async function handlePullTokenRequest(deps: PullTokenHttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== "POST") throw new JsonError(405, `${req.method} is not supported; use POST`, { Allow: "POST" });
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new JsonError(401, "a pull token is issued for a registry token given as Authorization: Bearer");
    if (isPullToken(token)) throw new JsonError(401, 'a pull token cannot ask for another: log in for the registry (service_name "mcr")');
    const claims = await deps.identity.validate(token);
    if (!claims) throw new JsonError(401, "invalid or expired token");
    const wrongAudience = audienceError(claims, deps.serviceName);
    if (wrongAudience) throw new JsonError(401, wrongAudience);
    markAuthenticated(req);
    const { repository, ttlMs } = parseRequest(await readJson(req));
    // The caller must itself be allowed to pull it; a denial is audited as policy_deny.
    deps.access.authorize(req, claims, { action: "registry:pull", repository });
    const issued = await deps.pullTokens.issue(claims, repository, ttlMs);
    deps.audit.record({
      type: "pull_token_issued",
      actor: claims.subject,
      repository,
      ip: clientAddress(req),
      details: { username: claims.username, expires_at: issued.expiresAt },
    });
    sendJson(res, 200, { token: issued.token, username: claims.username, repository, expires_at: issued.expiresAt });
  } catch (err) {
    if (err instanceof JsonError) return sendJson(res, err.status, { error: err.message }, err.headers);
    if (err instanceof OciError) return sendJson(res, err.status, { error: err.message });
    if (err instanceof IdentityUnavailableError) return sendJson(res, 503, { error: `cannot validate the token: ${err.message}` });
    throw err;
  }
}
