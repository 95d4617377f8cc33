// mcr's token endpoint takes a platform token issued for the registry as the Basic
// password (what `mcp build` gives podman): real podman and skopeo log in and push with
// it; a token for another service, another account's token or a revoked one do not work.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

describe("a platform token as the registry password", { skip: skipUnlessTools("podman", "skopeo", "runc", "busybox") }, () => {
  let home: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let anon: RegistryClient;
  let mcrToken: string;
  let agentToken: string;
  let otherToken: string;

  before(async () => {
    home = await initHome();
    const otherPassword = await addAccount(home, "other", "human", ["user"]);
    mcr = await startMcr(home, {}, { auth: true });
    anon = new RegistryClient(mcr.url, home.caPem);
    mcrToken = await login(anon, "admin", home.adminPassword, "mcr");
    agentToken = await login(anon, "admin", home.adminPassword, "mcp-agent");
    otherToken = await login(anon, "other", otherPassword, "mcr");
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/token-test/busybox:1");
  });

  after(async () => {
    anon?.close();
    await pm?.cleanup();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  const basic = (user: string, secret: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}` } });

  /** Runs a login with the secret on standard input; resolves to the exit code and stderr. */
  function loginWith(cmd: string, args: string[], secret: string): Promise<{ code: number; stderr: string }> {
    const child = execFile(cmd, args, { env: pm.env });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdin!.end(secret);
    return new Promise((r) => child.on("exit", (c) => r({ code: c ?? 1, stderr })));
  }

  test("GET /v2/token answers the registry token itself, with its remaining lifetime", async () => {
    const res = await anon.request("GET", "/v2/token?service=mcr&scope=repository:x:pull", basic("admin", mcrToken));
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.token, mcrToken);
    assert.equal(body.access_token, mcrToken);
    assert.ok(body.expires_in > 0 && body.expires_in <= 12 * 3600, `expires_in ${body.expires_in}`);
  });

  test("a token for another service, another account's token or a made-up one is refused", async () => {
    for (const [user, secret] of [
      ["admin", agentToken],
      ["admin", otherToken],
      ["admin", "x".repeat(43)],
    ] as const) {
      const res = await anon.request("GET", "/v2/token?service=mcr", basic(user, secret));
      assert.equal(res.status, 401, `${user} with ${secret.slice(0, 6)}…`);
    }
    // The token's own account gets it.
    assert.equal((await anon.request("GET", "/v2/token?service=mcr", basic("other", otherToken))).status, 200);
  });

  test("podman logs in and pushes, and skopeo inspects, with the token as the password", async () => {
    const ref = `${mcr.host}/token/busybox:1`;
    const login1 = await loginWith("podman", ["login", "--cert-dir", mcr.certDir, "--username", "admin", "--password-stdin", mcr.host], mcrToken);
    assert.equal(login1.code, 0, login1.stderr);
    await pm.podman(["tag", "localhost/token-test/busybox:1", ref]);
    await pm.podman(["push", "--cert-dir", mcr.certDir, ref]);
    const login2 = await loginWith("skopeo", ["login", "--cert-dir", mcr.certDir, "--username", "admin", "--password-stdin", mcr.host], mcrToken);
    assert.equal(login2.code, 0, login2.stderr);
    const inspect = JSON.parse(await pm.skopeo(["inspect", "--cert-dir", mcr.certDir, `docker://${ref}`]));
    assert.match(inspect.Digest, /^sha256:/);
    // The agent's token is not a registry credential.
    const refused = await loginWith("podman", ["login", "--cert-dir", mcr.certDir, "--username", "admin", "--password-stdin", mcr.host], agentToken);
    assert.notEqual(refused.code, 0);
  });

  test("a revoked token stops working as a password", async () => {
    const token = await login(anon, "admin", home.adminPassword, "mcr");
    assert.equal((await anon.request("GET", "/v2/token?service=mcr", basic("admin", token))).status, 200);
    const out = await anon.request("POST", "/v1/auth/logout", { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(out.status, 204);
    assert.equal((await anon.request("GET", "/v2/token?service=mcr", basic("admin", token))).status, 401);
    // Passwords still work as before.
    assert.equal((await anon.request("GET", "/v2/token?service=mcr", basic("admin", home.adminPassword))).status, 200);
  });
});
