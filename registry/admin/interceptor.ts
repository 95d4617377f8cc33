// Authentication for the admin Connect-RPC services: a bearer token validated
// through the identity provider; admin role required for everything but Health.
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { rpcCaller } from "../../lib/auth/connect.ts";
import type { Claims, IdentityProvider } from "../../lib/auth/types.ts";

/** The caller's claims; undefined when authentication is disabled. */
export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

const PUBLIC_METHODS = new Set(["mcr.v1.AdminService/Health"]);

/** `service`: the registry's service_name ([mcias]); tokens issued for other services are refused. */
export function adminAuthInterceptor(identity: IdentityProvider | null, service: string): Interceptor {
  return (next) => async (req) => {
    if (identity === null || PUBLIC_METHODS.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
    const claims = await rpcCaller(identity, req.header, service);
    if (!claims.roles.includes("admin")) throw new ConnectError(`${claims.username} is not an admin`, Code.PermissionDenied);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}
