// The admin Connect-RPC service and the REST health check on mcr's TLS listener.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

describe("mcr admin endpoints", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  before(async () => {
    home = await initHome();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
  });
  after(async () => {
    client.close();
    await mcr.stop();
    removeHome(home);
  });

  test("AdminService.Health answers over Connect with the version", async () => {
    const transport = createConnectTransport({ baseUrl: mcr.url, httpVersion: "1.1", nodeOptions: { ca: home.caPem } });
    const admin = createClient(AdminService, transport);
    const res = await admin.health({});
    assert.equal(res.status, "ok");
    assert.equal(res.database, "ok");
    assert.equal(res.storage?.status, "ok");
    assert.match(res.version, /^\d+\.\d+\.\d+/);
  });

  test("GET /v1/health is ok without a token; unknown paths get a JSON 404", async () => {
    const health = await client.request("GET", "/v1/health");
    assert.equal(health.status, 200);
    const { storage, ...rest } = health.json();
    assert.deepEqual(rest, { status: "ok", database: "ok" });
    if (home.backend === "embedded") assert.deepEqual(storage, { backend: "filesystem", location: join(home.dir, "layers"), status: "ok" });
    else assert.deepEqual([storage.backend, storage.status], ["s3", "ok"]);
    const missing = await client.request("GET", "/nope");
    assert.equal(missing.status, 404);
    assert.match(missing.json().error, /no such endpoint/);
  });

  test("GET /v2/ answers {} with the distribution API version header", async () => {
    const res = await client.request("GET", "/v2/");
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {});
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
  });
});
