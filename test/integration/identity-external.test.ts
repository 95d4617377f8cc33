// mcr with [mcias] server_url pointing at another mcr's identity API (the
// external mode): logins are forwarded, validation is cached for 30 s, a revoked
// token is refused within 30 s, and an identity outage is survived by cached
// tokens for at most 30 s, after which requests fail with 503 and a clear message.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("external identity server", () => {
  let idHome: McrHome;
  let regHome: McrHome;
  let identity: McrProcess;
  let registry: McrProcess;
  let idClient: RegistryClient;
  let regClient: RegistryClient;
  let alicePassword: string;

  before(async () => {
    idHome = await initHome();
    alicePassword = await addAccount(idHome, "alice", "human", ["user"]);
    identity = await startMcr(idHome, {}, { auth: true });
    regHome = await initHome();
    registry = await startMcr(regHome, { MCR_MCIAS_SERVER_URL: identity.url, MCR_MCIAS_CA_CERT: idHome.caPath }, { auth: true });
    idClient = new RegistryClient(identity.url, idHome.caPem);
    regClient = new RegistryClient(registry.url, regHome.caPem);
  });
  after(async () => {
    idClient.close();
    regClient.close();
    await registry.stop();
    await identity.stop();
    removeHome(idHome);
    removeHome(regHome);
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

  test("revocation is seen within 30 s; an outage is survived for at most 30 s, then 503", { timeout: 120_000 }, async () => {
    const revoked = await login(idClient, "alice", alicePassword);
    const kept = await login(idClient, "alice", alicePassword);
    assert.equal((await v2(revoked)).status, 200);
    const t0 = Date.now();
    assert.equal((await idClient.request("POST", "/v1/auth/logout", { headers: { Authorization: `Bearer ${revoked}` } })).status, 204);

    let refusedAfter = -1;
    while (Date.now() - t0 < 35_000) {
      const status = (await v2(revoked)).status;
      if (status === 401) {
        refusedAfter = Date.now() - t0;
        break;
      }
      assert.equal(status, 200, "until the cache entry expires the token still works");
      await sleep(1000);
    }
    assert.ok(refusedAfter >= 0 && refusedAfter <= 31_000, `revoked token refused after ${refusedAfter} ms`);

    // Validate `kept` now (fresh cache entry), then take the identity server away.
    assert.equal((await v2(kept)).status, 200);
    const cachedAt = Date.now();
    await identity.stop();
    assert.equal((await v2(kept)).status, 200, "a cached validation keeps working during the outage");
    const never = await v2("a-token-never-seen-before");
    assert.equal(never.status, 503, "an uncached token cannot be validated");
    assert.match(never.json().errors[0].message, /cannot validate the token: identity server .* is unreachable/);

    await sleep(Math.max(0, cachedAt + 30_500 - Date.now()));
    const expired = await v2(kept);
    assert.equal(expired.status, 503, "after 30 s the cached result is gone");
    assert.equal(expired.json().errors[0].code, "UNAVAILABLE");
    assert.match(registry.logs(), /identity service unavailable/);
  });
});
