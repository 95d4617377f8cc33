// Who may do what on /v2/: every request is authenticated with a bearer token
// (validated through the identity provider) and authorized by the policy engine.
// A denial answers 403 DENIED and is audited as policy_deny. A pull token (pull-tokens.ts)
// is a bearer token too, limited to pulling its one repository.
import type { IncomingMessage } from "node:http";
import { bearerToken } from "../../lib/auth/cache.ts";
import { audienceError, IdentityUnavailableError, type Claims, type IdentityProvider } from "../../lib/auth/types.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { remoteAddress } from "../../lib/net/request-context.ts";
import { markAuthenticated } from "../../lib/net/connection-guard.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { OciError } from "../oci/errors.ts";
import type { OciRoute } from "../oci/routes.ts";
import type { PolicyEngine } from "../policy/engine.ts";
import { isPullToken, type PullTokenStore } from "./pull-tokens.ts";
import type { Action } from "../../lib/policy/rules.ts";

export interface Permission {
  action: Action;
  repository: string;
}

/** The action a request needs (docs/security.md, "Policy rules"). */
export function requiredPermission(route: OciRoute, method: string): Permission {
  switch (route.kind) {
    case "base":
      return { action: "registry:version_check", repository: "" };
    case "catalog":
      return { action: "registry:catalog", repository: "" };
    case "tags":
    case "referrers":
      return { action: "registry:pull", repository: route.name };
    case "manifest":
    case "blob":
      if (method === "DELETE") return { action: "registry:delete", repository: route.name };
      if (method === "PUT") return { action: "registry:push", repository: route.name };
      return { action: "registry:pull", repository: route.name };
    case "uploads":
    case "upload":
      return { action: "registry:push", repository: route.name };
  }
}

const callers = new WeakMap<IncomingMessage, Claims>();
/** The repository a request's pull token is limited to. */
const scopes = new WeakMap<IncomingMessage, string>();

/** The client's address, taken when the request arrived (it stays readable after the socket is gone). */
export function clientAddress(req: IncomingMessage): string {
  return remoteAddress(req);
}

/** Actor and address of a request, for audit events. */
export function requestOrigin(req: IncomingMessage): { actor?: string; ip: string } {
  const caller = callers.get(req);
  return caller ? { actor: caller.subject, ip: clientAddress(req) } : { ip: clientAddress(req) };
}

export interface AccessOptions {
  /** null: authentication disabled explicitly in the config. */
  identity: IdentityProvider | null;
  engine: PolicyEngine;
  audit: AuditLog;
  serviceName: string;
  /** Base URL for the token realm; derived from the Host header when absent. */
  publicUrl?: string;
  log: Logger;
  /** Pull tokens' grants; without it a pull token is refused like any unknown token. */
  pullTokens?: PullTokenStore;
}

export class RegistryAccess {
  constructor(private readonly o: AccessOptions) {}

  get enabled(): boolean {
    return this.o.identity !== null;
  }

  /** The WWW-Authenticate challenge that sends clients to the token endpoint. */
  challenge(req: IncomingMessage, perm?: Permission): string {
    const base = this.o.publicUrl ?? `https://${req.headers.host ?? "localhost"}`;
    let value = `Bearer realm="${base.replace(/\/$/, "")}/v2/token",service="${this.o.serviceName}"`;
    if (perm?.repository) value += `,scope="repository:${perm.repository}:${perm.action === "registry:pull" ? "pull" : "pull,push"}"`;
    return value;
  }

  /** The caller's claims for a bearer token, or an OciError (401, or 503 while the identity server is down). */
  async authenticate(req: IncomingMessage, perm?: Permission): Promise<Claims> {
    const token = bearerToken(req.headers.authorization);
    const unauthorized = (message: string) => new OciError("UNAUTHORIZED", message, undefined, 401, { "WWW-Authenticate": this.challenge(req, perm) });
    if (!token) throw unauthorized("authentication required");
    if (isPullToken(token)) return this.authenticatePullToken(req, token, unauthorized);
    let claims: Claims | null;
    try {
      claims = await this.o.identity!.validate(token);
    } catch (err) {
      if (err instanceof IdentityUnavailableError) {
        this.o.log.error({ err: err.message }, "identity service unavailable");
        throw new OciError("UNAVAILABLE", `cannot validate the token: ${err.message}`, undefined, 503);
      }
      throw err;
    }
    if (!claims) throw unauthorized("invalid or expired token");
    const wrongAudience = audienceError(claims, this.o.serviceName);
    if (wrongAudience) throw unauthorized(wrongAudience);
    callers.set(req, claims);
    markAuthenticated(req);
    return claims;
  }

  /** A pull token's grant, from mcr's own database: never sent to the identity server. */
  private async authenticatePullToken(req: IncomingMessage, token: string, unauthorized: (message: string) => OciError): Promise<Claims> {
    const grant = (await this.o.pullTokens?.validate(token)) ?? null;
    if (!grant) throw unauthorized("this pull token is unknown or has expired: ask for a new one");
    callers.set(req, grant.claims);
    scopes.set(req, grant.repository);
    markAuthenticated(req);
    return grant.claims;
  }

  /** A pull token allows the version check and pulls of its repository: anything else is 403, naming what it is limited to. */
  private checkScope(req: IncomingMessage, claims: Claims, perm: Permission): void {
    const repository = scopes.get(req);
    if (repository === undefined) return;
    if (perm.action === "registry:version_check" || (perm.action === "registry:pull" && perm.repository === repository)) return;
    const what = `${perm.action.replace("registry:", "")}${perm.repository ? ` ${perm.repository}` : ""}`;
    this.o.audit.record({
      type: "policy_deny",
      actor: claims.subject,
      repository: perm.repository || undefined,
      ip: clientAddress(req),
      details: { username: claims.username, action: perm.action, rule_id: "pull_token", pull_token_repository: repository },
    });
    throw new OciError("DENIED", `this token may only pull ${repository}, not ${what}`, undefined, 403);
  }

  /** Authenticates and authorizes one OCI request. A cross-repository mount without pull on `from` is dropped (the upload falls back to a session). */
  async check(req: IncomingMessage, route: OciRoute, method: string, query: URLSearchParams): Promise<void> {
    if (!this.enabled) return;
    const perm = requiredPermission(route, method);
    const claims = await this.authenticate(req, perm);
    this.checkScope(req, claims, perm);
    this.authorize(req, claims, perm);
    const from = query.get("from");
    if (route.kind === "uploads" && query.has("mount") && from !== null) {
      if (!this.allowed(claims, { action: "registry:pull", repository: from })) query.delete("mount");
    }
  }

  allowed(claims: Claims, perm: Permission): boolean {
    return this.o.engine.evaluate({ subject: claims.subject, accountType: claims.accountType, roles: claims.roles, ...perm }).effect === "allow";
  }

  authorize(req: IncomingMessage, claims: Claims, perm: Permission): void {
    const decision = this.o.engine.evaluate({ subject: claims.subject, accountType: claims.accountType, roles: claims.roles, ...perm });
    if (decision.effect === "allow") return;
    this.o.audit.record({
      type: "policy_deny",
      actor: claims.subject,
      repository: perm.repository || undefined,
      ip: clientAddress(req),
      details: { username: claims.username, action: perm.action, rule_id: decision.rule ? String(decision.rule.id) : "default" },
    });
    throw new OciError(
      "DENIED",
      `${claims.username} may not ${perm.action.replace("registry:", "")}${perm.repository ? ` ${perm.repository}` : ""}`,
      undefined,
      403,
    );
  }
}
