// Every agent RPC but Health needs a bearer token validated through lib/auth;
// changing the node needs the admin role, reading it the user role.
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { bearerToken } from "../../lib/auth/cache.ts";
import { IdentityUnavailableError, type Claims, type IdentityProvider } from "../../lib/auth/types.ts";

export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

const PUBLIC = new Set(["Health"]);
const ADMIN = new Set(["Sync", "Deploy", "Stop", "Start", "Restart", "Remove"]);

export function agentAuthInterceptor(identity: IdentityProvider | null): Interceptor {
  return (next) => async (req) => {
    const method = req.method.name;
    if (identity === null || PUBLIC.has(method)) return next(req);
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
    const allowed = ADMIN.has(method) ? claims.roles.includes("admin") : claims.roles.includes("admin") || claims.roles.includes("user");
    if (!allowed) throw new ConnectError(`${claims.username} may not call ${method} (needs the ${ADMIN.has(method) ? "admin" : "user"} role)`, Code.PermissionDenied);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}
