// Failure modes of a replica on PostgreSQL + S3 (docs/scale-out.md): with the bucket
// unreachable, blob requests fail with 500, the process keeps serving manifests and
// /v1/health answers 503 naming the bucket; with the database down, requests fail and
// /v1/health answers 503 (either way a load balancer takes the replica out); when either
// comes back the replica is healthy and serves again without a restart, pushes included
// (the pool and the advisory-lock session reconnect).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, scaleOutServers, startMcr, stopScaleOutServers, type McrHome, type McrProcess, type ScaleOut } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";
import { skipUnlessPostgres } from "../helpers/postgres.ts";
import { until } from "../helpers/wait.ts";

describe("a replica when its database or bucket goes away", { skip: skipUnlessPostgres() }, () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  let servers: ScaleOut;
  const blob = randomBytes(4000);
  const config = Buffer.from('{"failures":1}');

  before(async () => {
    home = await initHome("", { backend: "postgres-s3" });
    servers = await scaleOutServers();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
    const push = new PushClient(client, mcr.url);
    await push.pushBlob("fail/app", blob);
    await push.pushBlob("fail/app", config);
    assert.equal((await push.putManifest("fail/app", "v1", imageManifest(config, [blob]), OCI_MANIFEST)).status, 201);
  });
  after(async () => {
    client?.close();
    await mcr?.stop();
    if (home) removeHome(home);
    await stopScaleOutServers();
  });

  test("bucket unreachable: health is 503 naming the bucket, blob GETs and uploads are 500, manifests are still served; back, health is 200 and everything works", async () => {
    const healthy = await client.request("GET", "/v1/health");
    assert.equal(healthy.status, 200, healthy.text);
    const storage = healthy.json().storage;
    assert.deepEqual([storage.backend, storage.status], ["s3", "ok"]);
    const bucket = /^s3:\/\/([^/]+)\//.exec(storage.location)?.[1];
    assert.ok(bucket, storage.location);
    await servers.s3.halt();
    try {
      // The last probe is kept for up to 2 s: the next ones see the bucket gone.
      const down = await until(
        "health to report the bucket",
        async () => {
          const r = await client.request("GET", "/v1/health");
          return r.status === 503 ? r : undefined;
        },
        10_000,
        100,
      );
      assert.equal(down.json().status, "unavailable");
      assert.equal(down.json().error, `bucket ${bucket} is not answering`);
      assert.deepEqual(down.json().storage, { backend: "s3", location: storage.location, status: "unavailable", error: `bucket ${bucket} is not answering` });
      assert.equal(down.json().database, "ok");
      const get = await client.request("GET", `/v2/fail/app/blobs/${sha256(blob)}`);
      assert.equal(get.status, 500);
      assert.equal(get.json().errors[0].code, "UNKNOWN");
      const put = await client.request("POST", `/v2/fail/app/blobs/uploads/?digest=${sha256(Buffer.from("x"))}`, {
        headers: { "Content-Length": 1 },
        body: Buffer.from("x"),
      });
      assert.equal(put.status, 500);
      assert.equal((await client.request("GET", "/v2/fail/app/manifests/v1")).status, 200);
      // Health asked often makes few probes (at most one per 2 s): the bucket stays named.
      const burst = await Promise.all(Array.from({ length: 50 }, () => client.request("GET", "/v1/health")));
      assert.deepEqual([...new Set(burst.map((r) => r.status))], [503]);
    } finally {
      await servers.s3.resume();
    }
    const recoveredMs = performance.now();
    await until("health to come back", async () => ((await client.request("GET", "/v1/health")).status === 200 ? true : undefined), 10_000, 100);
    process.stdout.write(`# health was 200 again ${(performance.now() - recoveredMs).toFixed(0)} ms after the bucket came back\n`);
    const again = await client.request("GET", `/v2/fail/app/blobs/${sha256(blob)}`);
    assert.equal(again.status, 200);
    assert.ok(again.body.equals(blob));
    assert.equal(mcr.child.exitCode, null, "the replica never stopped");
  });

  test("database down: requests fail and health is 503; back, reads and pushes work without a restart", async () => {
    await servers.pg.halt();
    try {
      assert.equal((await client.request("GET", "/v1/health")).status, 503);
      const m = await client.request("GET", "/v2/fail/app/manifests/v1");
      assert.equal(m.status, 500);
    } finally {
      await servers.pg.resume();
    }
    await until("health to come back", async () => ((await client.request("GET", "/v1/health")).status === 200 ? true : undefined), 20_000, 200);
    assert.equal((await client.request("GET", "/v2/fail/app/manifests/v1")).status, 200);
    const push = new PushClient(client, mcr.url);
    const layer = randomBytes(3000);
    const { location } = await push.startSession("fail/app");
    assert.equal((await push.patch(location, layer, `0-${layer.length - 1}`)).status, 202, "the upload lock's session reconnected");
    const done = await client.request("PUT", push.withDigest(location, sha256(layer)), { headers: { "Content-Length": 0 } });
    assert.equal(done.status, 201, done.text);
    assert.equal(mcr.child.exitCode, null);
  });
});
