// The node endpoints outside the admin API (docs/nodes.md):
//   GET  /v1/nodes/ca     the platform CA certificate, for a joining node to check against
//                         its token's digest before it sends anything (public: it is public)
//   POST /v1/nodes/join   {token, csr} → the node's certificate, the CA and its account
//   POST /v1/nodes/renew  {csr} with the node account's registry token → a new certificate
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "../../lib/auth/cache.ts";
import { audienceError, IdentityUnavailableError, type IdentityProvider } from "../../lib/auth/types.ts";
import { markAuthenticated } from "../../lib/net/connection-guard.ts";
import { clientAddress } from "../auth/access.ts";
import { JsonError, readJson } from "../identity/http.ts";
import { sendJson } from "../oci/http.ts";
import { NodeError, type NodeRegistrar } from "./registrar.ts";

export const NODE_PATHS = new Set(["/v1/nodes/ca", "/v1/nodes/join", "/v1/nodes/renew"]);

export interface NodeHttpDeps {
  registrar: NodeRegistrar;
  identity: IdentityProvider | null;
  serviceName: string;
}

const STATUS: Record<NodeError["kind"], number> = { invalid: 400, unauthenticated: 401, denied: 403, not_found: 404, exists: 409, unavailable: 503 };

function fields(doc: Record<string, unknown>, allowed: string[]): Record<string, string> {
  const unknown = Object.keys(doc).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new JsonError(400, `unknown field ${JSON.stringify(unknown[0]!.slice(0, 64))}: the body has ${allowed.join(" and ")}`);
  for (const k of allowed) if (typeof doc[k] !== "string" || doc[k] === "") throw new JsonError(400, `${k} must be a non-empty string`);
  return doc as Record<string, string>;
}

export async function handleNodeRequest(deps: NodeHttpDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    if (path === "/v1/nodes/ca") {
      if (req.method !== "GET" && req.method !== "HEAD") throw new JsonError(405, `${req.method} is not supported; use GET`, { Allow: "GET" });
      const pem = deps.registrar.caPem();
      res.writeHead(200, { "content-type": "application/x-pem-file", "content-length": Buffer.byteLength(pem) });
      res.end(req.method === "HEAD" ? undefined : pem);
      return;
    }
    if (req.method !== "POST") throw new JsonError(405, `${req.method} is not supported; use POST`, { Allow: "POST" });
    if (path === "/v1/nodes/join") {
      const doc = fields(await readJson(req), ["token", "csr"]);
      const a = await deps.registrar.join({ token: doc.token!, csr: doc.csr! }, clientAddress(req));
      return sendJson(res, 200, {
        node: a.node.name,
        url: a.node.url,
        hostnames: a.node.hostnames,
        certificate: a.certificate,
        ca: a.ca,
        cert_expires_at: a.certExpiresAt,
        account: a.account,
      });
    }
    // renew: the node's own account, through its registry token.
    const token = bearerToken(req.headers.authorization);
    if (!token || !deps.identity) throw new JsonError(401, "a node renews its certificate with its account's registry token as Authorization: Bearer");
    const claims = await deps.identity.validate(token);
    if (!claims) throw new JsonError(401, "invalid or expired token");
    const wrongAudience = audienceError(claims, deps.serviceName);
    if (wrongAudience) throw new JsonError(401, wrongAudience);
    markAuthenticated(req);
    const doc = fields(await readJson(req), ["csr"]);
    const r = await deps.registrar.renew(claims, doc.csr!);
    return sendJson(res, 200, { node: r.node, certificate: r.certificate, cert_expires_at: r.certExpiresAt });
  } catch (err) {
    if (err instanceof JsonError) return sendJson(res, err.status, { error: err.message }, err.headers);
    if (err instanceof NodeError) return sendJson(res, STATUS[err.kind], { error: err.message });
    if (err instanceof IdentityUnavailableError) return sendJson(res, 503, { error: `cannot validate the token: ${err.message}` });
    throw err;
  }
}
