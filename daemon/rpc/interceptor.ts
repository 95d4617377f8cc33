// Every agent RPC but Health needs a bearer token validated through lib/auth;
// changing the node needs the admin role, reading it the user role.
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { rpcCaller } from "../../lib/auth/connect.ts";
import type { Claims, IdentityProvider } from "../../lib/auth/types.ts";

export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

const PUBLIC = new Set(["Health"]);
const ADMIN = new Set(["Sync", "Deploy", "Stop", "Start", "Restart", "Remove"]);

/** `service`: the agent's service_name ([mcias], "mcp-agent"): a registry token does not drive the node. */
export function agentAuthInterceptor(identity: IdentityProvider | null, service: string): Interceptor {
  return (next) => async (req) => {
    const method = req.method.name;
    if (identity === null || PUBLIC.has(method)) return next(req);
    const claims = await rpcCaller(identity, req.header, service);
    const allowed = ADMIN.has(method) ? claims.roles.includes("admin") : claims.roles.includes("admin") || claims.roles.includes("user");
    if (!allowed) throw new ConnectError(`${claims.username} may not call ${method} (needs the ${ADMIN.has(method) ? "admin" : "user"} role)`, Code.PermissionDenied);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}
