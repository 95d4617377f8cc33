// The agent pool over real TLS: an HTTP/2 server on 127.0.0.1 with a certificate from a test
// CA answers Health; the pool refuses it once its serial is in the revoked list (closing the
// connection that was open), and accepts it when it is not; the host name check still runs
// first; a node that leaves the pool has its connection closed. A joined node's chain (its
// certificate and the node signer's) is trusted with the platform CA alone. The console's
// serial rule agrees with the registry's.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { normalSerial } from "../../lib/tls/serial.ts";
import { agentError, type ConsoleError } from "../../console/output/errors.ts";
import { createCA, issueServerCert, type PemPair } from "../../lib/tls/certs.ts";
import { createNodeRequest, createNodeSigner, issueNodeCert } from "../../lib/tls/node-certs.ts";

const servers: Http2SecureServer[] = [];
after(() => servers.forEach((s) => s.close()));

/** An agent that answers Health, over TLS 1.3 with `key` and `cert` (a chain); counts its open sessions. */
async function agent(key: string, cert: string) {
  const open = new Set<ServerHttp2Session>();
  const handler = connectNodeAdapter({
    routes: (r) => r.service(AgentService, { health: () => ({ status: "ok", version: "1", node: "orbit", podmanVersion: "4.3.1" }) }),
  });
  const server = createSecureServer({ key, cert, minVersion: "TLSv1.3" }, handler);
  server.on("session", (s: ServerHttp2Session) => (open.add(s), s.on("close", () => open.delete(s))));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, open };
}

const until = async (ok: () => boolean, what: string) => {
  const end = Date.now() + 3000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within 3 s: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("agent pool: TLS to a node and revoked certificates", () => {
  let ca: PemPair;
  let server: PemPair;
  let serial: string;
  test("setup: a CA and a server certificate for 127.0.0.1", async () => {
    ca = await createCA("mcp test CA");
    server = await issueServerCert(ca, ["127.0.0.1"]);
    serial = new X509Certificate(server.certPem).serialNumber;
  });

  test("accepted while its serial is not revoked; refused, with the open connection closed, once it is; accepted again when it is not", async () => {
    const a = await agent(server.keyPem, server.certPem);
    const pool = new AgentPool({ nodes: [{ name: "orbit", url: a.url }], token: () => "t", timeoutMs: 2000, caPem: ca.certPem });
    try {
      pool.setRevoked(["ABCDEF", "0123"]);
      assert.equal((await pool.client("orbit").health({}, pool.call({ anonymous: true }))).status, "ok");
      assert.equal(a.open.size, 1);
      // The registry lists serials upper-case without leading zeros; the check normalises both sides.
      pool.setRevoked([`00${serial.toLowerCase()}`]);
      await until(() => a.open.size === 0, "the open connection to the revoked node closed");
      await assert.rejects(
        pool.client("orbit").health({}, pool.call({ anonymous: true })),
        new RegExp(`its certificate \\(serial ${normalSerial(serial)}\\) was revoked: the node was removed from the platform`),
      );
      // As the console reports the node: unreachable, with the reason.
      const err = await pool
        .client("orbit")
        .health({}, pool.call({ anonymous: true }))
        .catch((e: unknown) => agentError(e, "orbit"));
      assert.equal((err as ConsoleError).code, "unreachable");
      assert.match((err as ConsoleError).message, /^node orbit is unreachable: .*its certificate \(serial [0-9A-F]+\) was revoked/);
      pool.setRevoked([]);
      assert.equal((await pool.client("orbit").health({}, pool.call({ anonymous: true }))).status, "ok");
    } finally {
      pool.close();
    }
  });

  test("the host name check runs first: a certificate for another name is refused whatever the revoked list", async () => {
    const other = await issueServerCert(ca, ["localhost"]);
    const a = await agent(other.keyPem, other.certPem);
    const pool = new AgentPool({ nodes: [{ name: "orbit", url: a.url }], token: () => "t", timeoutMs: 2000, caPem: ca.certPem });
    try {
      await assert.rejects(pool.client("orbit").health({}, pool.call({ anonymous: true })), /IP: 127\.0\.0\.1 is not in the cert's list/);
    } finally {
      pool.close();
    }
  });

  test("a node that leaves the pool has its connection closed; one whose URL changes connects anew", async () => {
    const a = await agent(server.keyPem, server.certPem);
    const pool = new AgentPool({ nodes: [], token: () => "t", timeoutMs: 2000, caPem: ca.certPem });
    try {
      assert.deepEqual(pool.setNodes([{ name: "orbit", url: a.url }]), { added: ["orbit"], removed: [] });
      await pool.client("orbit").health({}, pool.call({ anonymous: true }));
      assert.equal(a.open.size, 1);
      assert.deepEqual(pool.setNodes([]), { added: [], removed: ["orbit"] });
      await until(() => a.open.size === 0, "the removed node's connection closed");
      assert.throws(() => pool.client("orbit"), /no node "orbit"/);
    } finally {
      pool.close();
    }
  });

  test("a joined node's chain (its certificate, then the node signer's) is trusted with the platform CA, and refused once revoked", async () => {
    const signer = await createNodeSigner(ca, 86_400_000);
    const req = await createNodeRequest("orbit");
    const issued = await issueNodeCert(signer, req.csrPem, "orbit", ["127.0.0.1"], 3_600_000);
    const a = await agent(req.keyPem, issued.chainPem);
    const pool = new AgentPool({ nodes: [{ name: "orbit", url: a.url }], token: () => "t", timeoutMs: 2000, caPem: ca.certPem });
    try {
      assert.equal((await pool.client("orbit").health({}, pool.call({ anonymous: true }))).status, "ok");
      pool.setRevoked([issued.serial]);
      await assert.rejects(pool.client("orbit").health({}, pool.call({ anonymous: true })), /its certificate .* was revoked/);
    } finally {
      pool.close();
    }
  });

  test("serials compare as the registry lists them: upper-case hex without separators or leading zeros", () => {
    const cases: [string, string][] = [
      ["0A1B", "A1B"],
      ["00:0a:1b", "A1B"],
      ["deadBEEF", "DEADBEEF"],
      ["000", ""],
      ["7F00000000000001", "7F00000000000001"],
    ];
    for (const [given, listed] of cases) assert.equal(normalSerial(given), listed, given);
  });
});
