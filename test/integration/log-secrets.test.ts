// No secret reaches the logs: the real mcr and mcp-agent run at debug level (every
// request logged) through logins (right and wrong), the Docker token flow, pushes and
// pulls by HTTP and by podman, admin RPCs, and agent RPCs including a deploy that pulls
// with the agent's own registry account; then every line both wrote is searched for
// each password, token and Basic credential the test used.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { agentClient, initAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST } from "../helpers/oci.ts";
import { PushClient, imageManifest } from "../helpers/oci-push.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

describe("secrets never reach the logs (debug level, real mcr and mcp-agent)", { skip: skipUnlessTools("podman", "skopeo", "busybox", "runc") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let agentHome: AgentHome;
  let agent: AgentProcess;
  let http: RegistryClient;
  let rpc: Client<typeof AgentService>;
  const secrets: string[] = [];
  const pw: Record<string, string> = {};

  before(async () => {
    mcrHome = await initHome();
    pw.admin = mcrHome.adminPassword;
    pw.alice = await addAccount(mcrHome, "alice", "human", ["user"]);
    pw.agent = await addAccount(mcrHome, "agent-node1", "human", ["user"]);
    mcr = await startMcr(mcrHome, { MCR_LOG_LEVEL: "debug" }, { auth: true });
    http = new RegistryClient(mcr.url, mcrHome.caPem);
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/logtest/busybox:1");
    agentHome = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir, registryUser: { username: "agent-node1", password: pw.agent } });
    agent = await startAgentProcess(agentHome, { MCP_AGENT_LOG_LEVEL: "debug" });
    rpc = agentClient(agent.url, mcrHome.caPem);
    secrets.push(...Object.values(pw), ...Object.entries(pw).map(([u, p]) => basic(u, p)));
  });

  after(async () => {
    http?.close();
    await agent?.stop();
    await pm?.cleanup();
    await mcr?.stop();
    if (agentHome) rmSync(agentHome.dir, { recursive: true, force: true });
    if (mcrHome) removeHome(mcrHome);
  });

  test("logins, pushes, pulls and RPCs leave no password, token or credential in any log line", async () => {
    // Logins: the identity API (right and wrong passwords) and the Docker token flow.
    const wrong = `wrong-${randomBytes(12).toString("hex")}`;
    secrets.push(wrong, basic("alice", wrong));
    const aliceToken = await login(http, "alice", pw.alice!);
    const adminToken = await login(http, "admin", pw.admin!);
    secrets.push(aliceToken, adminToken);
    assert.equal(
      (
        await http.request("POST", "/v1/auth/login", {
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username: "alice", password: wrong, service_name: "mcr", tags: [] }),
        })
      ).status,
      401,
    );
    assert.equal((await http.request("GET", "/v2/token?service=mcr", { headers: { Authorization: `Basic ${basic("alice", wrong)}` } })).status, 401);
    const tok = await http.request("GET", "/v2/token?service=mcr&scope=repository:team/app:pull,push", {
      headers: { Authorization: `Basic ${basic("alice", pw.alice!)}` },
    });
    assert.equal(tok.status, 200, tok.text);
    const flowToken = tok.json().token as string;
    secrets.push(flowToken);
    const bogus = randomBytes(32).toString("base64url");
    secrets.push(bogus);
    assert.equal((await http.request("GET", "/v2/", { headers: { Authorization: `Bearer ${bogus}` } })).status, 401);

    // Push and pull over HTTP with the flow's token.
    const authed = new RegistryClient(mcr.url, mcrHome.caPem, flowToken);
    try {
      const push = new PushClient(authed, mcr.url);
      const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
      const layer = randomBytes(2048);
      await push.pushBlob("team/app", config);
      await push.pushBlob("team/app", layer);
      const manifest = imageManifest(config, [layer]);
      assert.equal((await push.putManifest("team/app", "1", manifest, OCI_MANIFEST)).status, 201);
      const got = await authed.request("GET", "/v2/team/app/manifests/1", { headers: { Accept: OCI_MANIFEST } });
      assert.equal(got.status, 200);
      assert.equal((await authed.request("HEAD", "/v2/team/app/manifests/1", { headers: { Accept: OCI_MANIFEST } })).status, 200);
    } finally {
      authed.close();
    }

    // podman and skopeo: login (password on stdin), push, pull, inspect with --creds.
    await new Promise<void>((resolve, reject) => {
      const child = execFile("podman", ["login", "--cert-dir", mcr.certDir, "--username", "admin", "--password-stdin", mcr.host], { env: pm.env }, (err) =>
        err ? reject(err) : resolve(),
      );
      child.stdin!.end(pw.admin);
    });
    await pm.podman(["tag", "localhost/logtest/busybox:1", `${mcr.host}/logsvc:v1`]);
    await pm.podman(["push", "--cert-dir", mcr.certDir, `${mcr.host}/logsvc:v1`]);
    await pm.podman(["rmi", `${mcr.host}/logsvc:v1`]);
    await pm.podman(["pull", "--cert-dir", mcr.certDir, `${mcr.host}/logsvc:v1`]);
    await pm.podman(["rmi", `${mcr.host}/logsvc:v1`]);
    await pm.skopeo(["inspect", "--cert-dir", mcr.certDir, "--creds", `alice:${pw.alice}`, `docker://${mcr.host}/team/app:1`]);

    // mcr's admin RPCs, with a good and a bad token.
    assert.equal((await adminClient(AdminService, mcr.url, mcrHome.caPem).health({}, bearer(adminToken))).status, "ok");
    await adminClient(PolicyService, mcr.url, mcrHome.caPem).listRules({}, bearer(adminToken));
    await adminClient(AuditService, mcr.url, mcrHome.caPem).listEvents({ limit: 10 }, bearer(adminToken));
    await assert.rejects(
      adminClient(PolicyService, mcr.url, mcrHome.caPem).listRules({}, bearer(bogus)),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );

    // The agent (tokens issued for it): public Health, reads and a deploy that pulls with
    // the agent's own registry account.
    const aliceAgent = await login(http, "alice", pw.alice!, "mcp-agent");
    const adminAgent = await login(http, "admin", pw.admin!, "mcp-agent");
    secrets.push(aliceAgent, adminAgent);
    assert.equal((await rpc.health({})).status, "ok");
    await rpc.list({}, bearer(aliceAgent));
    await assert.rejects(rpc.list({}, bearer(bogus)), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    await assert.rejects(rpc.remove({ service: "logsvc" }, bearer(aliceAgent)), (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied);
    const def = { name: "logsvc", node: "node1", version: "v1", components: [{ name: "api", cmd: ["sleep", "300"] }] } as Partial<ServiceDefinition>;
    for await (const _ of rpc.deploy({ service: "logsvc", definition: def as ServiceDefinition }, bearer(adminAgent)));
    assert.equal((await rpc.status({ service: "logsvc" }, bearer(adminAgent))).components[0]!.observedState, "running");
    await rpc.remove({ service: "logsvc" }, bearer(adminAgent));
    assert.equal((await rpc.list({}, bearer(adminAgent))).containers.length, 0);

    // Now read everything both processes wrote.
    await agent.stop();
    await mcr.stop();
    const logs = { mcr: mcr.logs(), "mcp-agent": agent.logs() };
    const requests = logs.mcr.split("\n").filter((l) => l.includes('"msg":"request"'));
    assert.ok(
      requests.some((l) => l.includes('"level":"debug"')),
      "debug level: successful reads are logged",
    );
    assert.ok(requests.length > 30, `every request is logged (${requests.length})`);
    assert.match(logs["mcp-agent"], /logged in to the registry/);
    for (const [name, text] of Object.entries(logs)) {
      const lines = text.split("\n");
      for (const s of secrets) {
        const hit = lines.find((l) => l.includes(s));
        assert.equal(hit, undefined, `${name} logged a secret: ${hit}`);
      }
      assert.equal(
        lines.find((l) => /\b(Bearer|Basic)\s+(?!\[redacted\])[A-Za-z0-9._~+/-]{8,}/i.test(l)),
        undefined,
        `${name} logged a credential`,
      );
    }
  });
});
