// Authentication for the admin Connect-RPC services: a bearer token validated
// through the identity provider; admin role required for everything but Health.
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { bearerToken } from "../../lib/auth/cache.ts";
import { IdentityUnavailableError, type Claims, type IdentityProvider } from "../../lib/auth/types.ts";

/** The caller's claims; undefined when authentication is disabled. */
export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

const PUBLIC_METHODS = new Set(["mcr.v1.AdminService/Health"]);

export function adminAuthInterceptor(identity: IdentityProvider | null): Interceptor {
  return (next) => async (req) => {
    if (identity === null || PUBLIC_METHODS.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
    const token = bearerToken(req.header.get("authorization") ?? undefined);
    if (!token) throw new ConnectError("a bearer token is required", Code.Unauthenticated);
    let claims: Claims | null;
    try {
      claims = await identity.validate(token);
    } catch (err) {
      if (err instanceof IdentityUnavailableError) throw new ConnectError(`cannot validate the token: ${err.message}`, Code.Unavailable);
      throw err;
    }
    if (!claims) throw new ConnectError("invalid or expired token", Code.Unauthenticated);
    if (!claims.roles.includes("admin")) throw new ConnectError(`${claims.username} is not an admin`, Code.PermissionDenied);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}
