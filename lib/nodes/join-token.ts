// Join tokens: `MCPJOIN-1-<CA digest>-<secret>`. The digest (SHA-256 of the platform CA
// certificate, 64 hex) lets a joining node check the registry before it trusts it or sends
// it anything; the secret (32 random bytes, 64 hex) is what the registry keeps the hash of and
// accepts once. The shape follows Docker Swarm's SWMTKN-1-<digest>-<secret>.
import { createHash, randomBytes } from "node:crypto";

const PREFIX = "MCPJOIN-1-";
const TOKEN_RE = /^MCPJOIN-1-([0-9a-f]{64})-([0-9a-f]{64})$/;

export interface JoinToken {
  caDigest: string;
  secret: string;
}

export function newJoinToken(caDigest: string): { token: string; secretHash: string } {
  const secret = randomBytes(32).toString("hex");
  return { token: `${PREFIX}${caDigest}-${secret}`, secretHash: joinSecretHash(secret) };
}

/** What the registry stores and looks a token up by. */
export const joinSecretHash = (secret: string): string => createHash("sha256").update(secret).digest("hex");

/** The token's parts; an Error saying what is wrong with it otherwise (never echoing the secret). */
export function parseJoinToken(token: string): JoinToken {
  const m = TOKEN_RE.exec(token.trim());
  if (!m) {
    const hint = token.startsWith(PREFIX) ? "its digest and secret must be 64 lower-case hex digits each" : `it must start with ${PREFIX}`;
    throw new Error(`this is not a join token (${hint}): copy the whole token \`mcp node add\` printed`);
  }
  return { caDigest: m[1]!, secret: m[2]! };
}
