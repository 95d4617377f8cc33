// The caller of a Connect RPC: its bearer token validated through the identity
// provider, or a Connect error (unauthenticated; unavailable while the identity
// server cannot be reached).
import { Code, ConnectError } from "@connectrpc/connect";
import { bearerToken } from "./cache.ts";
import { IdentityUnavailableError, type Claims, type IdentityProvider } from "./types.ts";

export async function rpcCaller(identity: IdentityProvider, headers: Headers): Promise<Claims> {
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
  return claims;
}
