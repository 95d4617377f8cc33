// The admin API's REST equivalents under /v1/, as curl users call them:
// bearer token, JSON in and out ({"error": ...} on failure), same roles as the RPCs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { RegistryClient, type Response } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

describe("mcr admin REST under /v1/", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let anon: RegistryClient;
  let admin: RegistryClient;
  let user: RegistryClient;
  const config = Buffer.from('{"os":"linux"}');
  const layer = randomBytes(2048);
  const body = imageManifest(config, [layer]);

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home, {}, { auth: true });
    anon = new RegistryClient(mcr.url, home.caPem);
    admin = new RegistryClient(mcr.url, home.caPem, await login(anon, "admin", home.adminPassword));
    user = new RegistryClient(mcr.url, home.caPem, await login(anon, "bob", await addAccount(home, "bob", "human", ["user"])));
    const push = new PushClient(admin, mcr.url);
    for (const b of [config, layer]) await push.pushBlob("web/site", b);
    assert.equal((await push.putManifest("web/site", "latest", body, OCI_MANIFEST)).status, 201);
  });
  after(async () => {
    for (const c of [anon, admin, user]) c.close();
    await mcr.stop();
    removeHome(home);
  });

  const json = (c: RegistryClient, method: string, path: string, value?: unknown): Promise<Response> =>
    c.request(method, path, value === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
  const error = (res: Response, status: number, pattern: RegExp) => {
    assert.equal(res.status, status, res.text);
    assert.match(res.json().error, pattern);
  };

  test("repositories: list, detail, manifest; a user may read, not delete; no token is 401", async () => {
    const list = await user.request("GET", "/v1/repositories?n=10");
    assert.equal(list.status, 200, list.text);
    const repo = list.json().repositories[0];
    assert.equal(repo.name, "web/site");
    assert.equal(repo.tag_count, 1);
    assert.equal(repo.total_size, String(config.length + layer.length + body.length), "64-bit numbers are strings (proto3 JSON)");
    const detail = (await user.request("GET", "/v1/repositories/web/site")).json();
    assert.deepEqual(
      detail.tags.map((t: { name: string }) => t.name),
      ["latest"],
    );
    const manifest = (await user.request("GET", "/v1/repositories/web/site/manifests/latest")).json();
    assert.equal(manifest.manifest.digest, sha256(body));
    assert.equal(manifest.content, body.toString());
    error(await user.request("DELETE", "/v1/repositories/web/site"), 403, /not an admin/);
    error(await anon.request("GET", "/v1/repositories"), 401, /bearer token/);
    error(await user.request("GET", "/v1/repositories/web/nothing"), 404, /not known/);
    error(await user.request("PUT", "/v1/repositories"), 405, /use GET/);
  });

  test("a body sent without a token, or past max_rpc_bytes, is refused before it is read and the connection closed", async () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 0x20);
    const anonymous = await anon.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json", "Content-Length": big.length }, body: big });
    error(anonymous, 401, /bearer token/);
    assert.equal(anonymous.headers.connection, "close");
    const tooLarge = await admin.request("POST", "/v1/policy/rules", {
      headers: { "Content-Type": "application/json", "Content-Length": big.length },
      body: big,
    });
    error(tooLarge, 413, /exceeds the limit/);
    assert.equal(tooLarge.headers.connection, "close");
  });

  test("policy rules: create (201), get, patch, list, delete (204); bad input is 400", async () => {
    const created = await json(admin, "POST", "/v1/policy/rules", {
      priority: 5,
      description: "deny pushes to prod",
      effect: "deny",
      actions: ["registry:push"],
      repositories: ["prod/*"],
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json().id;
    assert.equal((await admin.request("GET", `/v1/policy/rules/${id}`)).json().description, "deny pushes to prod");
    assert.equal((await json(admin, "PATCH", `/v1/policy/rules/${id}`, { enabled: false })).json().enabled, false);
    assert.ok((await admin.request("GET", "/v1/policy/rules")).json().rules.some((r: { id: string }) => r.id === id));
    assert.equal((await admin.request("DELETE", `/v1/policy/rules/${id}`)).status, 204);
    error(await admin.request("GET", `/v1/policy/rules/${id}`), 404, /no policy rule/);
    error(await json(admin, "POST", "/v1/policy/rules", { priority: 0, effect: "allow" }), 400, /priority/);
    error(await admin.request("POST", "/v1/policy/rules", { headers: { "Content-Type": "application/json" }, body: "{nope" }), 400, /not valid JSON/);
    error(await json(user, "GET", "/v1/policy/rules"), 403, /admin/);
  });

  test("audit: filters and n; answers a JSON array, newest first", async () => {
    const events = (await admin.request("GET", "/v1/audit?event_type=manifest_pushed&repository=web/site&n=5")).json();
    assert.ok(Array.isArray(events));
    assert.equal(events[0].type, "manifest_pushed");
    assert.equal(events[0].repository, "web/site");
    error(await admin.request("GET", "/v1/audit?n=-1"), 400, /non-negative/);
    error(await admin.request("GET", "/v1/audit?since=yesterday"), 400, /RFC 3339/);
  });

  test("gc: POST starts (202 with the run's id), GET /v1/gc/status reports it; snapshot (201) and check", async () => {
    const started = await json(admin, "POST", "/v1/gc", { dry_run: true, untagged: true });
    assert.equal(started.status, 202, started.text);
    const id = started.json().id;
    let status: any;
    for (let i = 0; i < 100; i++) {
      status = (await admin.request("GET", "/v1/gc/status")).json();
      if (!status.running && status.last_run?.id === id) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status.last_run.id, id);
    assert.equal(status.last_run.phase, "done");
    assert.equal(status.last_run.options.dry_run, true);
    error(await json(admin, "POST", "/v1/gc", { grace: "soon" }), 400, /grace/);
    error(await json(admin, "POST", "/v1/gc", { nonsense: true }), 400, /invalid request/);
    const snap = await admin.request("POST", "/v1/snapshot");
    assert.equal(snap.status, 201, snap.text);
    assert.ok(existsSync(snap.json().path));
    const check = (await admin.request("GET", "/v1/check")).json();
    assert.equal(check.ok, true);
  });

  test("deletes: a tag, then the repository (admin), with audit events", async () => {
    assert.equal((await admin.request("DELETE", "/v1/repositories/web/site/tags/latest")).status, 200);
    error(await admin.request("DELETE", "/v1/repositories/web/site/tags/latest"), 404, /not known/);
    const gone = await admin.request("DELETE", "/v1/repositories/web/site");
    assert.equal(gone.status, 200, gone.text);
    assert.equal(gone.json().manifests_deleted, 1);
    const events = (await admin.request("GET", "/v1/audit?event_type=repo_deleted")).json();
    assert.equal(events[0].repository, "web/site");
  });
});
