// Identity, policy and audit against the real mcr: the MCIAS-compatible API,
// the Docker token flow with real podman login, policy decisions on pushes,
// rate limiting, audit listing, and that no secret reaches the logs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

describe("identity, policy and audit", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  let adminToken: string;
  const secrets: string[] = [];
  const passwords: Record<string, string> = {};

  before(async () => {
    home = await initHome();
    passwords.alice = await addAccount(home, "alice", "human", ["user"]);
    passwords.guest = await addAccount(home, "visitor", "human", ["guest"]);
    passwords.ci = await addAccount(home, "ci-bot", "system", ["user"]);
    passwords.rate = await addAccount(home, "target", "human", ["user"]);
    secrets.push(home.adminPassword, ...Object.values(passwords));
    mcr = await startMcr(home, {}, { auth: true });
    client = new RegistryClient(mcr.url, home.caPem);
    adminToken = await login(client, "admin", home.adminPassword);
    secrets.push(adminToken);
  });
  after(async () => {
    if (process.env.DEBUG_LOGS)
      console.log(
        mcr
          .logs()
          .split("\n")
          .filter((l) => /"status":40[13]/.test(l))
          .join("\n"),
      );
    client.close();
    await mcr.stop();
    removeHome(home);
  });

  describe("identity API", () => {
    test("login → validate → logout → invalid", async () => {
      const token = await login(client, "alice", passwords.alice!);
      secrets.push(token);
      const v = await client.request("POST", "/v1/token/validate", { body: JSON.stringify({ token }) });
      const body = v.json();
      assert.equal(body.valid, true);
      assert.equal(body.username, "alice");
      assert.equal(body.account_type, "human");
      assert.deepEqual(body.roles, ["user"]);
      assert.ok(Date.parse(body.expires_at) > Date.now() + 11 * 3600_000, "12 h lifetime");
      const out = await client.request("POST", "/v1/auth/logout", { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(out.status, 204);
      assert.deepEqual((await client.request("POST", "/v1/token/validate", { body: JSON.stringify({ token }) })).json(), { valid: false });
      const after = await client.request("GET", "/v2/", { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(after.status, 401, "a revoked token is refused at once");
    });

    test("a token carries the service it was issued for; the registry refuses one issued for the agent", async () => {
      const agentToken = await login(client, "alice", passwords.alice!, "mcp-agent");
      secrets.push(agentToken);
      const v = (await client.request("POST", "/v1/token/validate", { body: JSON.stringify({ token: agentToken }) })).json();
      assert.equal(v.service_name, "mcp-agent");
      const res = await client.request("GET", "/v2/_catalog", { headers: { Authorization: `Bearer ${agentToken}` } });
      assert.equal(res.status, 401);
      assert.match(res.text, /issued for mcp-agent, not mcr/);
    });

    test("wrong password, unknown user, bad JSON, missing fields and wrong methods", async () => {
      const post = (body: string) => client.request("POST", "/v1/auth/login", { body });
      const wrong = await post(JSON.stringify({ username: "alice", password: "nope" }));
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.json(), { error: "invalid username or password" });
      assert.equal((await post(JSON.stringify({ username: "nobody", password: "x" }))).status, 401);
      const bad = await post("{not json");
      assert.equal(bad.status, 400);
      assert.match(bad.json().error, /not valid JSON/);
      assert.match((await post(JSON.stringify({ username: "alice" }))).json().error, /password must be a non-empty string/);
      assert.equal((await post("[]")).status, 400);
      assert.equal((await client.request("GET", "/v1/auth/login")).status, 405);
      assert.equal((await client.request("POST", "/v1/token/validate", { body: "x".repeat(70_000) })).status, 413);
    });

    test("brute force is rate-limited per account and address with 429 and Retry-After", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        statuses.push((await client.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: "target", password: `guess-${i}` }) })).status);
      }
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
      assert.equal(statuses[10], 429);
      const limited = await client.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: "target", password: passwords.rate }) });
      assert.equal(limited.status, 429, "even the right password waits out the window");
      assert.ok(Number(limited.headers["retry-after"]) > 0);
      assert.match(limited.json().error, /too many login attempts/);
    });
  });

  describe("registry access", () => {
    test("/v2/ without a token: 401 with a Bearer challenge pointing at the token endpoint", async () => {
      const res = await client.request("GET", "/v2/");
      assert.equal(res.status, 401);
      assert.equal(res.headers["www-authenticate"], `Bearer realm="https://${mcr.host}/v2/token",service="mcr"`);
      assert.equal(res.json().errors[0].code, "UNAUTHORIZED");
      const ok = await client.request("GET", "/v2/", { headers: { Authorization: `Bearer ${adminToken}` } });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), {});
    });

    test("GET /v2/token: Basic credentials for a token usable on /v2/", async () => {
      const basic = Buffer.from(`alice:${passwords.alice}`).toString("base64");
      const res = await client.request("GET", "/v2/token?service=mcr&scope=repository:team/app:pull,push", { headers: { Authorization: `Basic ${basic}` } });
      assert.equal(res.status, 200);
      const body = res.json();
      assert.equal(body.token, body.access_token);
      assert.ok(body.expires_in > 3600);
      assert.ok(Date.parse(body.issued_at) > 0);
      secrets.push(body.token);
      assert.equal((await client.request("GET", "/v2/_catalog", { headers: { Authorization: `Bearer ${body.token}` } })).status, 200);
      const wrong = await client.request("GET", "/v2/token", { headers: { Authorization: `Basic ${Buffer.from("alice:wrong").toString("base64")}` } });
      assert.equal(wrong.status, 401);
      assert.equal((await client.request("GET", "/v2/token")).status, 401);
    });

    test("a guest gets version_check only; the denial is audited as policy_deny", async () => {
      const token = await login(client, "visitor", passwords.guest!);
      secrets.push(token);
      const auth = { Authorization: `Bearer ${token}` };
      assert.equal((await client.request("GET", "/v2/", { headers: auth })).status, 200);
      const denied = await client.request("POST", "/v2/team/app/blobs/uploads/", { headers: auth });
      assert.equal(denied.status, 403);
      assert.equal(denied.json().errors[0].code, "DENIED");
      assert.equal((await client.request("GET", "/v2/_catalog", { headers: auth })).status, 403);
      const audit = adminClient(AuditService, mcr.url, home.caPem);
      const events = await audit.listEvents({ type: "policy_deny", repository: "team/app" }, bearer(adminToken));
      assert.ok(events.events.some((e) => e.details.username === "visitor" && e.details.action === "registry:push"));
    });
  });

  describe("with podman", { skip: skipUnlessTools("podman", "busybox") }, () => {
    let pm: PodmanEnv;
    before(async () => {
      pm = createPodmanEnv();
      await pm.importBusybox("localhost/idtest/busybox:1");
    });
    after(async () => pm?.cleanup());

    const podmanLogin = async (user: string, password: string) => {
      const child = (await import("node:child_process")).execFile(
        "podman",
        ["login", "--cert-dir", mcr.certDir, "--username", user, "--password-stdin", mcr.host],
        { env: pm.env },
      );
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      child.stdin!.end(password);
      const code = await new Promise<number>((r) => child.on("exit", (c) => r(c ?? 1)));
      if (code !== 0) throw new Error(`podman login ${user} failed: ${err}`);
    };
    const push = (repo: string) => pm.podman(["push", "--cert-dir", mcr.certDir, "localhost/idtest/busybox:1", `${mcr.host}/${repo}:1`]);

    test("podman login with a wrong password fails; a user may push and pull", async () => {
      await assert.rejects(podmanLogin("alice", "wrong-password"), /invalid username|unauthorized/i);
      await podmanLogin("alice", passwords.alice!);
      await push("team/app");
      await pm.podman(["pull", "--cert-dir", mcr.certDir, `${mcr.host}/team/app:1`]);
    });

    test("a guest may not push", async () => {
      await podmanLogin("visitor", passwords.guest!);
      await assert.rejects(push("team/guest"), /denied|403/i);
    });

    test("a system account needs a rule; a deny rule beats an allow rule of lower priority number", async () => {
      await podmanLogin("ci-bot", passwords.ci!);
      await assert.rejects(push("ci/app"), /denied|403/i);

      const policy = adminClient(PolicyService, mcr.url, home.caPem);
      const allow = await policy.createRule(
        {
          rule: {
            priority: 10,
            description: "ci pushes ci/*",
            effect: "allow",
            accountTypes: ["system"],
            actions: ["registry:pull", "registry:push"],
            repositories: ["ci/*"],
          },
        },
        bearer(adminToken),
      );
      await push("ci/app");

      await policy.createRule(
        { rule: { priority: 50, description: "freeze ci/frozen", effect: "deny", actions: ["registry:push"], repositories: ["ci/frozen"] } },
        bearer(adminToken),
      );
      await assert.rejects(push("ci/frozen"), /denied|403/i);

      await policy.updateRule({ id: allow.rule!.id, enabled: false }, bearer(adminToken));
      await assert.rejects(push("ci/app2"), /denied|403/i, "a disabled rule no longer applies");
    });
  });

  describe("admin RPCs", () => {
    test("PolicyService refuses missing tokens, non-admins and invalid rules", async () => {
      const policy = adminClient(PolicyService, mcr.url, home.caPem);
      await assert.rejects(policy.listRules({}), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
      const alice = await login(client, "alice", passwords.alice!);
      secrets.push(alice);
      await assert.rejects(policy.listRules({}, bearer(alice)), (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied);
      await assert.rejects(
        policy.createRule({ rule: { priority: 0, effect: "allow" } }, bearer(adminToken)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /priority/.test(e.message),
      );
      await assert.rejects(
        policy.createRule({ rule: { priority: 5, effect: "allow", actions: ["registry:fly"] } }, bearer(adminToken)),
        (e: unknown) => e instanceof ConnectError && /unknown action/.test(e.message),
      );
      await assert.rejects(policy.deleteRule({ id: 999n }, bearer(adminToken)), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
    });

    test("the audit log records logins, pushes and rule changes, with filters and pagination", async () => {
      const audit = adminClient(AuditService, mcr.url, home.caPem);
      const all = await audit.listEvents({ limit: 1000 }, bearer(adminToken));
      const types = new Set(all.events.map((e) => e.type));
      for (const t of ["login_ok", "login_fail", "policy_deny", "logout"]) assert.ok(types.has(t), t);
      // Failed logins are counted per minute: the first of each kind is written at once (count
      // 1), its repeats in one row when the minute ends (test/integration/login-flood.test.ts).
      const logins = await audit.listEvents({ type: "login_fail", actor: "target" }, bearer(adminToken));
      assert.ok(logins.events.every((e) => e.type === "login_fail" && e.actor === "target"));
      assert.deepEqual(logins.events.map((e) => [e.details.via, e.details.reason, e.details.count]).sort(), [
        ["api", "invalid username or password", "1"],
        ["api", "rate limited", "1"],
      ]);
      const page1 = await audit.listEvents({ limit: 2 }, bearer(adminToken));
      const page2 = await audit.listEvents({ limit: 2, offset: 2 }, bearer(adminToken));
      assert.equal(page1.events.length, 2);
      assert.ok(page1.events[1]!.id > page2.events[0]!.id, "newest first, pages do not overlap");
      const future = await audit.listEvents({ since: new Date(Date.now() + 3600_000).toISOString() }, bearer(adminToken));
      assert.equal(future.events.length, 0);
      await assert.rejects(
        audit.listEvents({ since: "yesterday" }, bearer(adminToken)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
      );
    });
  });

  test("no password or token ever appears in mcr's logs", () => {
    const logs = mcr.logs();
    assert.ok(logs.length > 1000, "the server did log");
    for (const s of secrets) assert.equal(logs.includes(s), false, "a secret leaked into the logs");
    assert.equal(/authorization/i.test(logs) && /Bearer [A-Za-z0-9_-]{20,}/.test(logs), false);
  });
});
