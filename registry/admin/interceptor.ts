// Authentication for the admin Connect-RPC services and their REST equivalents: a bearer
// token validated through the identity provider and issued for this registry. Health is
// public; the registry's read RPCs need any account (the handlers then apply the policy
// engine, as the OCI API does); everything else (GC, policy, deletes, audit, snapshot,
// check) needs the admin role. The local admin socket's callers are the registry's
// operator (registry/server/local-admin.ts).
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { rpcCaller } from "../../lib/auth/connect.ts";
import type { Claims, IdentityProvider } from "../../lib/auth/types.ts";

/** The caller's claims; undefined when authentication is disabled. */
export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

export type Requirement = "public" | "account" | "admin";

const REQUIREMENTS: Record<string, Requirement> = {
  "mcr.v1.AdminService/Health": "public",
  "mcr.v1.RegistryService/ListRepositories": "account",
  "mcr.v1.RegistryService/GetRepository": "account",
  "mcr.v1.RegistryService/GetManifest": "account",
  // The handler lets admins and system accounts (the agents) through.
  "mcr.v1.PolicyService/ListEnabledRules": "account",
  // Every account: the console takes its nodes from it, the agents the revoked certificates.
  "mcr.v1.NodeService/ListNodes": "account",
  // The handler lets system accounts (the agents) through, no one else.
  "mcr.v1.AuditService/RecordAgentEvent": "account",
};

/** What calling `/<service>/<method>` needs; anything not listed needs admin. */
export function requirement(procedure: string): Requirement {
  return REQUIREMENTS[procedure] ?? "admin";
}

/** The operator on the registry host, over the local admin socket (`mcr gc`, `mcr snapshot`). */
export const LOCAL_OPERATOR: Claims = {
  subject: "cli",
  username: "cli",
  accountType: "human",
  roles: ["admin"],
  expiresAt: "",
  audience: "",
};

/**
 * The caller of `procedure`, or a ConnectError. Undefined when no identity is needed
 * (authentication disabled, or a public method).
 */
export async function authorizeCall(identity: IdentityProvider | null, service: string, procedure: string, headers: Headers): Promise<Claims | undefined> {
  const need = requirement(procedure);
  if (identity === null || need === "public") return undefined;
  const claims = await rpcCaller(identity, headers, service);
  if (need === "admin" && !claims.roles.includes("admin")) {
    throw new ConnectError(`${claims.username} is not an admin: ${procedure.split("/")[1]} needs the admin role`, Code.PermissionDenied);
  }
  return claims;
}

/** `service`: the registry's service_name ([mcias]); tokens issued for other services are refused. */
export function adminAuthInterceptor(identity: IdentityProvider | null, service: string): Interceptor {
  return (next) => async (req) => {
    const claims = await authorizeCall(identity, service, `${req.service.typeName}/${req.method.name}`, req.header);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}

/** Every call over the local admin socket is the operator's. */
export function localOperatorInterceptor(): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(callerKey, LOCAL_OPERATOR);
    return next(req);
  };
}
