// mcr with [mcias] server_url pointing at another mcr's identity API (the
// external mode): logins are forwarded, validation is cached for 30 s, a revoked
// token is refused once its 30 s are up, and an identity outage is survived by
// cached tokens for at most 30 s, after which requests fail with 503 and a clear
// message. The identity server is a real mcr process; the registry under test runs
// in this process with an injected clock, so the 30 s pass without waiting for them.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createLogger } from "../../lib/log/logger.ts";
import { loadRegistryConfig } from "../../registry/config.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server/registry-server.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

const TTL = 30_000;

describe("external identity server", () => {
  let idHome: McrHome;
  let regHome: McrHome;
  let identity: McrProcess;
  let registry: RunningRegistry;
  let idClient: RegistryClient;
  let regClient: RegistryClient;
  let alicePassword: string;
  let clock = Date.now();
  let logs = "";

  before(async () => {
    idHome = await initHome();
    alicePassword = await addAccount(idHome, "alice", "human", ["user"]);
    identity = await startMcr(idHome, {}, { auth: true });
    regHome = await initHome();
    const cfg = loadRegistryConfig(regHome.config, { MCR_MCIAS_SERVER_URL: identity.url, MCR_MCIAS_CA_CERT: idHome.caPath });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs += chunk.toString();
        cb();
      },
    });
    registry = await startRegistry(cfg, createLogger("mcr", "info", sink), { now: () => clock });
    idClient = new RegistryClient(identity.url, idHome.caPem);
    regClient = new RegistryClient(`https://localhost:${registry.address.port}`, regHome.caPem);
  });
  after(async () => {
    idClient?.close();
    regClient?.close();
    await registry?.shutdown();
    await identity?.stop();
    if (idHome) removeHome(idHome);
    if (regHome) removeHome(regHome);
  });

  const v2 = (token: string) => regClient.request("GET", "/v2/_catalog", { headers: { Authorization: `Bearer ${token}` } });

  test("the embedded API answers 404 in external mode; the token flow is forwarded", async () => {
    const res = await regClient.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: "alice", password: alicePassword }) });
    assert.equal(res.status, 404);
    assert.match(res.json().error, /external identity server/);
    const basic = Buffer.from(`alice:${alicePassword}`).toString("base64");
    const tok = await regClient.request("GET", "/v2/token?service=mcr", { headers: { Authorization: `Basic ${basic}` } });
    assert.equal(tok.status, 200);
    assert.equal((await v2(tok.json().token)).status, 200);
    const wrong = await regClient.request("GET", "/v2/token", { headers: { Authorization: `Basic ${Buffer.from("alice:nope").toString("base64")}` } });
    assert.equal(wrong.status, 401);
  });

  test("a revoked token works until its cached validation is 30 s old, then is refused", async () => {
    const revoked = await login(idClient, "alice", alicePassword);
    assert.equal((await v2(revoked)).status, 200); // validated and cached now
    const cachedAt = clock;
    assert.equal((await idClient.request("POST", "/v1/auth/logout", { headers: { Authorization: `Bearer ${revoked}` } })).status, 204);
    assert.equal((await v2(revoked)).status, 200, "the cached validation still answers");
    clock = cachedAt + TTL - 1;
    assert.equal((await v2(revoked)).status, 200, "until the entry is 30 s old");
    clock = cachedAt + TTL;
    assert.equal((await v2(revoked)).status, 401, "then the identity server is asked again, and refuses it");
  });

  test("an outage is survived by cached validations for at most 30 s, then requests fail with 503", async () => {
    const kept = await login(idClient, "alice", alicePassword);
    assert.equal((await v2(kept)).status, 200);
    const cachedAt = clock;
    await identity.stop();
    assert.equal((await v2(kept)).status, 200, "a cached validation keeps working during the outage");
    const never = await v2("a-token-never-seen-before");
    assert.equal(never.status, 503, "an uncached token cannot be validated");
    assert.match(never.json().errors[0].message, /cannot validate the token: identity server .* is unreachable/);

    clock = cachedAt + TTL - 1;
    assert.equal((await v2(kept)).status, 200);
    clock = cachedAt + TTL;
    const expired = await v2(kept);
    assert.equal(expired.status, 503, "after 30 s the cached result is gone");
    assert.equal(expired.json().errors[0].code, "UNAVAILABLE");
    assert.match(logs, /identity service unavailable/);
  });
});
