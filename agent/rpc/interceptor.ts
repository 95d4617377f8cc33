// Every agent RPC but Health needs a bearer token validated through lib/auth and
// issued for this agent; what the caller may then do, service by service, is the
// policy's business (rpc/access.ts), asked by the handlers.
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { rpcCaller } from "../../lib/auth/connect.ts";
import type { Claims, IdentityProvider } from "../../lib/auth/types.ts";

export const callerKey = createContextKey<Claims | undefined>(undefined, { description: "authenticated caller" });

const PUBLIC = new Set(["Health"]);

/** `service`: the agent's service_name ([mcias], "mcp-agent"): a registry token does not drive the node. */
export function agentAuthInterceptor(identity: IdentityProvider | null, service: string): Interceptor {
  return (next) => async (req) => {
    if (identity === null || PUBLIC.has(req.method.name)) return next(req);
    req.contextValues.set(callerKey, await rpcCaller(identity, req.header, service));
    return next(req);
  };
}
