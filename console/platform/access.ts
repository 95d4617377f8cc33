// What `mcp up` sets up through the running registry: its local node's registration (the
// agent then joins with the token, docs/nodes.md), and the console's session, logged in as
// the first admin with the password `mcr init` kept.
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import { type Credentials, SERVICES, type Session } from "../clients/credentials.ts";
import type { PlatformPaths } from "./paths.ts";

function adminPassword(p: PlatformPaths): string {
  if (!existsSync(p.adminPassword)) throw new Error(`${p.adminPassword} is gone (the admin password was changed?): run \`mcp login\``);
  return readFileSync(p.adminPassword, "utf8").trim();
}

function post(url: string, ca: string, body: unknown, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      url,
      {
        method: "POST",
        ca,
        minVersion: "TLSv1.3",
        timeout: 10_000,
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * Registers a node through the running registry as the first admin (NodeService/AddNode) and
 * answers its join token: how `mcp up` joins its local agent.
 */
export async function addNodeAsAdmin(
  p: PlatformPaths,
  registryUrl: string,
  ca: string,
  node: { name: string; url: string; hostnames: string[] },
): Promise<string> {
  const identity = new RemoteIdentity({ serverUrl: registryUrl, caCert: ca });
  try {
    const { token } = await identity.login({ username: "admin", password: adminPassword(p), serviceName: "mcr", tags: ["mcp-up"] });
    const r = await post(
      `${registryUrl}/mcr.v1.NodeService/AddNode`,
      ca,
      { name: node.name, url: node.url, hostnames: node.hostnames, expiresSeconds: 600 },
      token,
    );
    if (r.status !== 200) throw new Error(`registering node ${node.name}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    return (JSON.parse(r.body) as { token: string }).token;
  } finally {
    identity.close();
  }
}

/** Logs the console in as admin unless it has a session with tokens valid for another hour. */
export async function ensureLogin(p: PlatformPaths, creds: Credentials, registryUrl: string, ca: string): Promise<{ username: string; loggedIn: boolean }> {
  const have = creds.session(registryUrl);
  const fresh = have && SERVICES.every((s) => have.tokens[s] && Date.parse(have.tokens[s]!.expires_at) > Date.now() + 3_600_000);
  if (have && fresh) return { username: have.username, loggedIn: false };
  const identity = new RemoteIdentity({ serverUrl: registryUrl, caCert: ca });
  const session: Session = { username: "admin", tokens: {} };
  try {
    const password = adminPassword(p);
    for (const service of SERVICES) {
      const issued = await identity.login({ username: "admin", password, serviceName: service, tags: ["mcp-console"] });
      session.tokens[service] = { token: issued.token, expires_at: issued.expiresAt };
    }
  } finally {
    identity.close();
  }
  creds.save(registryUrl, session);
  return { username: "admin", loggedIn: true };
}
