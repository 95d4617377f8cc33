// Pull tokens against the real mcr: POST /v1/auth/pull-token gives an account that may pull
// a repository a token that pulls that repository — over HTTP, through the Docker token flow,
// with skopeo and podman — and nothing else (another repository, push, delete, the catalog,
// the admin API, the identity API, the agent), and that stops working when it expires. The
// agent's session hands another user's podman such a token, never the agent's password.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import { mcrSessionFor } from "../../agent/registry/mcr-session.ts";
import { PodmanCli } from "../../agent/runtime/podman-cli.ts";
import { agentClient, initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { assertOciError } from "../helpers/oci.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { sleep, until } from "../helpers/wait.ts";

const MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

describe("pull tokens", { skip: skipUnlessTools("podman", "skopeo", "runc", "busybox") }, () => {
  let home: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let anon: RegistryClient;
  let agentHome: AgentHome;
  let agent: AgentProcess;
  let agentToken: string;
  let agentPassword: string;
  let admin: RegistryClient;
  let visitorToken: string;
  let tmp: string;

  const issue = (token: string, body: unknown) =>
    anon.request("POST", "/v1/auth/pull-token", {
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const pullToken = async (repository: string, extra: Record<string, unknown> = {}) => {
    const res = await issue(agentToken, { repository, ...extra });
    assert.equal(res.status, 200, res.text);
    issued.push(res.json().token);
    return res.json<{ token: string; username: string; repository: string; expires_at: string }>();
  };
  const issued: string[] = [];
  const as = (token: string) => new RegistryClient(mcr.url, home.caPem, token);
  const basic = (user: string, secret: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}` } });

  before(async () => {
    home = await initHome();
    agentPassword = await addAccount(home, "agent-node1", "human", ["user"]);
    const visitorPassword = await addAccount(home, "visitor", "human", ["guest"]);
    mcr = await startMcr(home, {}, { auth: true });
    anon = new RegistryClient(mcr.url, home.caPem);
    agentToken = await login(anon, "agent-node1", agentPassword, "mcr");
    visitorToken = await login(anon, "visitor", visitorPassword, "mcr");
    admin = new RegistryClient(mcr.url, home.caPem, await login(anon, "admin", home.adminPassword, "mcr"));
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/pull-token/busybox:1");
    await pm.podman(["login", "--cert-dir", mcr.certDir, "-u", "admin", "-p", home.adminPassword, mcr.host]);
    for (const repo of ["team/app", "other/app"]) {
      await pm.podman(["tag", "localhost/pull-token/busybox:1", `${mcr.host}/${repo}:1`]);
      await pm.podman(["push", "--cert-dir", mcr.certDir, `${mcr.host}/${repo}:1`]);
    }
    await pm.podman(["logout", "--all"]);
    agentHome = await initAgentHome({ mcr, mcrHome: home, podmanDir: pm.dir });
    agent = await startAgentProcess(agentHome);
    tmp = mkdtempSync(join(tmpdir(), "pull-token-"));
  });

  after(async () => {
    anon?.close();
    admin?.close();
    await agent?.stop();
    if (agentHome) removeAgentHome(agentHome);
    await pm?.cleanup();
    await mcr?.stop();
    if (home) removeHome(home);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("an account that may pull a repository gets a token for it that lives a minute; the issue is audited", async () => {
    const before = Date.now();
    const t = await pullToken("team/app");
    assert.match(t.token, /^mcr-pull-[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([t.username, t.repository], ["agent-node1", "team/app"]);
    const life = Date.parse(t.expires_at) - before;
    assert.ok(life > 55_000 && life <= 61_000, `expires in ${life} ms`);
    type Event = { repository: string; details: Record<string, string> };
    let events: Event[] = [];
    const event = await until("the pull_token_issued event", async () => {
      events = (await admin.request("GET", "/v1/audit?event_type=pull_token_issued")).json<Event[]>();
      return events.find((e) => e.details.expires_at === t.expires_at);
    });
    assert.equal(event.repository, "team/app", JSON.stringify(events));
    assert.equal(event.details.username, "agent-node1");
    assert.equal(JSON.stringify(events).includes(t.token), false, "the token is not in the audit log");
  });

  test("bad requests are refused with an error that says what is wrong", async () => {
    const cases: [number, () => ReturnType<RegistryClient["request"]>, RegExp][] = [
      [405, () => anon.request("GET", "/v1/auth/pull-token", bearer(agentToken)), /use POST/],
      [401, () => anon.request("POST", "/v1/auth/pull-token", { body: "{}" }), /Authorization: Bearer/],
      [401, () => issue("x".repeat(43), { repository: "team/app" }), /invalid or expired token/],
      [
        400,
        () => anon.request("POST", "/v1/auth/pull-token", { headers: { Authorization: `Bearer ${agentToken}` }, body: "repository=team/app" }),
        /not valid JSON/,
      ],
      [400, () => issue(agentToken, ["team/app"]), /must be a JSON object/],
      [400, () => issue(agentToken, {}), /repository must be a non-empty string/],
      [400, () => issue(agentToken, { repository: 7 }), /repository must be a non-empty string/],
      [400, () => issue(agentToken, { repository: "Team/../app" }), /"Team\/..\/app" is not a valid repository name/],
      [400, () => issue(agentToken, { repository: "team/app", actions: ["push"] }), /unknown field "actions"/],
      [400, () => issue(agentToken, { repository: "team/app", expires_in: 61 }), /expires_in must be a whole number of seconds from 1 to 60/],
      [400, () => issue(agentToken, { repository: "team/app", expires_in: 0 }), /expires_in must be/],
      [400, () => issue(agentToken, { repository: "team/app", expires_in: 1.5 }), /expires_in must be/],
      [403, () => issue(visitorToken, { repository: "team/app" }), /visitor may not pull team\/app/],
    ];
    for (const [status, call, message] of cases) {
      const res = await call();
      assert.equal(res.status, status, `${message}: ${res.text}`);
      assert.match(res.json().error, message);
    }
    // A token issued for the agents is not the registry's.
    const agentAudience = await login(anon, "admin", home.adminPassword, "mcp-agent");
    assert.match((await issue(agentAudience, { repository: "team/app" })).json().error, /issued for mcp-agent, not mcr/);
  });

  test("it pulls its repository over HTTP and through the Docker token flow", async () => {
    const t = await pullToken("team/app");
    const flow = await anon.request("GET", "/v2/token?service=mcr&scope=repository:team/app:pull", basic("agent-node1", t.token));
    assert.equal(flow.status, 200, flow.text);
    assert.equal(flow.json().token, t.token, "answered with itself");
    assert.ok(flow.json().expires_in <= 60);
    const c = as(t.token);
    try {
      assert.equal((await c.request("GET", "/v2/")).status, 200);
      const manifest = await c.request("GET", "/v2/team/app/manifests/1", { headers: { Accept: MANIFEST_TYPES } });
      assert.equal(manifest.status, 200, manifest.text);
      const config = manifest.json().config.digest as string;
      assert.equal((await c.request("GET", `/v2/team/app/blobs/${config}`)).status, 200);
      assert.equal((await c.request("HEAD", `/v2/team/app/blobs/${config}`)).status, 200);
      assert.deepEqual((await c.request("GET", "/v2/team/app/tags/list")).json().tags, ["1"]);
      assert.equal((await c.request("GET", `/v2/team/app/referrers/${manifest.headers["docker-content-digest"]}`)).status, 200);
    } finally {
      c.close();
    }
    // Only with its own account's name.
    assert.equal((await anon.request("GET", "/v2/token?service=mcr", basic("admin", t.token))).status, 401);
  });

  test("and nothing else: another repository, push, delete, the catalog, the admin API, the identity API, the agent", async () => {
    const t = await pullToken("team/app");
    const c = as(t.token);
    try {
      const denied = async (method: string, path: string, message: string) => {
        const res = await c.request(method, path, { headers: { Accept: MANIFEST_TYPES, "Content-Length": 0 } });
        assertOciError(res, 403, "DENIED");
        assert.equal(res.json().errors[0].message, `this token may only pull team/app, not ${message}`);
      };
      await denied("GET", "/v2/other/app/manifests/1", "pull other/app");
      await denied("GET", "/v2/other/app/tags/list", "pull other/app");
      await denied("POST", "/v2/team/app/blobs/uploads/", "push team/app");
      await denied("POST", "/v2/other/app/blobs/uploads/?mount=sha256:0&from=team/app", "push other/app");
      await denied("DELETE", "/v2/team/app/manifests/1", "delete team/app");
      await denied("GET", "/v2/_catalog", "catalog");
      // Every other door takes it for what it is to them: an unknown token.
      assert.equal((await c.request("GET", "/v1/repositories")).status, 401);
      assert.equal((await c.request("GET", "/v1/audit")).status, 401);
      await assert.rejects(
        adminClient(RegistryService, mcr.url, home.caPem).listRepositories({}, bearer(t.token)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
      );
      assert.match((await issue(t.token, { repository: "team/app" })).json().error, /a pull token cannot ask for another/);
      const validate = await anon.request("POST", "/v1/token/validate", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: t.token }),
      });
      assert.deepEqual(validate.json(), { valid: false });
      const asPassword = await anon.request("POST", "/v1/auth/login", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "agent-node1", password: t.token, service_name: "mcr" }),
      });
      assert.equal(asPassword.status, 401);
      await assert.rejects(
        agentClient(agent.url, home.caPem).list({}, bearer(t.token)),
        (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
      );
    } finally {
      c.close();
    }
  });

  test("skopeo and podman pull with an auth file holding it; another repository and a push fail", async () => {
    const t = await pullToken("team/app");
    const authFile = join(tmp, "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [mcr.host]: { auth: Buffer.from(`${t.username}:${t.token}`).toString("base64") } } }), { mode: 0o600 });
    const access = ["--authfile", authFile, "--cert-dir", mcr.certDir];
    assert.match(JSON.parse(await pm.skopeo(["inspect", ...access, `docker://${mcr.host}/team/app:1`])).Digest, /^sha256:/);
    await pm.podman(["pull", "--quiet", ...access, `${mcr.host}/team/app:1`]);
    await assert.rejects(pm.skopeo(["inspect", ...access, `docker://${mcr.host}/other/app:1`]), /denied|unauthorized/i);
    await pm.podman(["tag", "localhost/pull-token/busybox:1", `${mcr.host}/team/app:2`]);
    await assert.rejects(pm.podman(["push", ...access, `${mcr.host}/team/app:2`]), /denied|unauthorized/i);
    assert.deepEqual((await admin.request("GET", "/v2/team/app/tags/list")).json().tags, ["1"], "nothing was pushed");
  });

  test("an expired token is refused, on the OCI API and at the token endpoint", async () => {
    const t = await pullToken("team/app", { expires_in: 1 });
    const c = as(t.token);
    try {
      assert.equal((await c.request("GET", "/v2/team/app/tags/list")).status, 200);
      await sleep(1_100);
      const res = await c.request("GET", "/v2/team/app/tags/list");
      assertOciError(res, 401, "UNAUTHORIZED");
      assert.match(res.json().errors[0].message, /this pull token is unknown or has expired/);
      const flow = await anon.request("GET", "/v2/token?service=mcr", basic("agent-node1", t.token));
      assert.equal(flow.status, 401);
      assert.match(flow.text, /this pull token is unknown, has expired or is not this account's/);
    } finally {
      c.close();
    }
  });

  test("the agent's session pipes another user's podman a pull token of the image's repository, never its password", async () => {
    const passwordFile = join(tmp, "registry.password");
    writeFileSync(passwordFile, agentPassword, { mode: 0o600 });
    const session = (await mcrSessionFor({
      registry: { host: mcr.host, ca_cert: home.caPath, username: "agent-node1", password_file: passwordFile },
      mcias: { server_url: mcr.url, ca_cert: home.caPath },
    }))!;
    // A stand-in podman that keeps what it is given on stdin.
    const record = join(tmp, "record");
    mkdirSync(record);
    const fake = join(tmp, "podman");
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${record}/args\ncase " $* " in *" /dev/stdin "*) cat > ${record}/stdin.$(date +%s%N) ;; esac\n`, {
      mode: 0o755,
    });
    const piped = () =>
      readdirSync(record)
        .filter((f) => f.startsWith("stdin."))
        .map((f) => readFileSync(join(record, f), "utf8"));
    try {
      const opts = { certDir: mcr.certDir, pipedAuth: (image: string) => session.authFileFor(image) };
      await new PodmanCli({ command: fake }).pull(`${mcr.host}/team/app:1`, opts);
      const [authJson] = piped();
      const login1 = Buffer.from(JSON.parse(authJson!).auths[mcr.host].auth, "base64").toString();
      assert.match(login1, /^agent-node1:mcr-pull-[A-Za-z0-9_-]{43}$/);
      for (const secret of [agentPassword, Buffer.from(`agent-node1:${agentPassword}`).toString("base64"), await session.token()]) {
        assert.equal(authJson!.includes(secret), false, "neither the password nor the agent's registry token is piped");
      }
      // What was piped pulls team/app and nothing else.
      const authFile = join(tmp, "piped-auth.json");
      writeFileSync(authFile, authJson!, { mode: 0o600 });
      const access = ["--authfile", authFile, "--cert-dir", mcr.certDir];
      assert.match(JSON.parse(await pm.skopeo(["inspect", ...access, `docker://${mcr.host}/team/app:1`])).Digest, /^sha256:/);
      await assert.rejects(pm.skopeo(["inspect", ...access, `docker://${mcr.host}/other/app:1`]), /denied/i);

      // Images of other registries get no credentials at all.
      await new PodmanCli({ command: fake }).pull("docker.io/library/busybox:1", opts);
      await new PodmanCli({ command: fake }).pull(`127.0.0.2:${mcr.port}/team/app:1`, opts);
      assert.equal(piped().length, 1);
      assert.deepEqual(readFileSync(join(record, "args"), "utf8").trim().split("\n").slice(1), [
        `pull --quiet --cert-dir ${mcr.certDir} docker.io/library/busybox:1`,
        `pull --quiet --cert-dir ${mcr.certDir} 127.0.0.2:${mcr.port}/team/app:1`,
      ]);

      // A registry token revoked behind the agent's back: the session logs in again.
      const revoked = await session.token();
      assert.equal((await anon.request("POST", "/v1/auth/logout", bearer(revoked))).status, 204);
      assert.equal((await session.pullToken("other/app")).repository, "other/app");
      assert.notEqual(await session.token(), revoked);
    } finally {
      session.close();
    }
  });

  test("no pull token reaches a log line of mcr or the agent", () => {
    assert.ok(issued.length >= 5);
    for (const token of issued) {
      assert.equal(mcr.logs().includes(token.slice(9)), false, "mcr's log");
      assert.equal(agent.logs().includes(token.slice(9)), false, "the agent's log");
    }
  });
});
