// The caller of a Connect RPC: its bearer token validated through the identity
// provider and issued for this service, or a Connect error (unauthenticated;
// unavailable while the identity server cannot be reached).
import { Code, ConnectError } from "@connectrpc/connect";
import { bearerToken } from "./cache.ts";
import { audienceError, IdentityUnavailableError, type Claims, type IdentityProvider } from "./types.ts";

/** `service`: this daemon's service_name; a token issued for another service is refused. */
export async function rpcCaller(identity: IdentityProvider, headers: Headers, service: string): Promise<Claims> {
  const token = bearerToken(headers.get("authorization") ?? undefined);
  if (!token) throw new ConnectError("a bearer token is required", Code.Unauthenticated);
  let claims: Claims | null;
  try {
    claims = await identity.validate(token);
  } catch (err) {
    if (err instanceof IdentityUnavailableError) throw new ConnectError(`cannot validate the token: ${err.message}`, Code.Unavailable);
    throw err;
  }
  if (!claims) throw new ConnectError("invalid or expired token", Code.Unauthenticated);
  const wrongAudience = audienceError(claims, service);
  if (wrongAudience) throw new ConnectError(wrongAudience, Code.Unauthenticated);
  return claims;
}
