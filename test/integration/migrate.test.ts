// `mcr migrate`: an embedded registry with images, accounts, tokens and policy rules moves to
// PostgreSQL + S3 (a home made by `mcr init --database-url … --s3-…`); the new registry serves
// the same images byte for byte, knows the same accounts and rules, keeps numbering after
// the copied ids, and a second migration into the same database is refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { login } from "../helpers/identity.ts";
import { initHome, MCR_BIN, removeHome, startMcr, stopScaleOutServers, type McrHome } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";
import { skipUnlessPostgres } from "../helpers/postgres.ts";

const run = promisify(execFile);

describe("mcr migrate: an embedded registry into PostgreSQL + S3", { skip: skipUnlessPostgres() }, () => {
  let old: McrHome;
  let fresh: McrHome;
  const images: { repo: string; tag: string; blobs: Buffer[]; manifest: Buffer }[] = [];
  let ruleId = 0;

  before(async () => {
    old = await initHome("", { backend: "embedded" });
    fresh = await initHome("", { backend: "postgres-s3" });
  });
  after(async () => {
    if (old) removeHome(old);
    if (fresh) removeHome(fresh);
    await stopScaleOutServers();
  });

  test("images, accounts, tokens and rules move; the old home is unchanged; a second run is refused", async () => {
    // The embedded registry, with content.
    const mcr = await startMcr(old, {}, { auth: true });
    const anon = new RegistryClient(mcr.url, old.caPem);
    const token = await login(anon, "admin", old.adminPassword);
    const client = new RegistryClient(mcr.url, old.caPem, token);
    try {
      const push = new PushClient(client, mcr.url);
      const shared = randomBytes(3000);
      for (const [repo, tag] of [
        ["team/app", "v1"],
        ["team/app", "v2"],
        ["other/tool", "latest"],
      ] as const) {
        const blobs = [Buffer.from(`{"config":"${repo}:${tag}"}`), shared, randomBytes(200_000)];
        for (const b of blobs) await push.pushBlob(repo, b);
        const manifest = imageManifest(blobs[0]!, blobs.slice(1));
        assert.equal((await push.putManifest(repo, tag, manifest, OCI_MANIFEST)).status, 201);
        images.push({ repo, tag, blobs, manifest });
      }
      const rule = await client.request("POST", "/v1/policy/rules", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ priority: 50, description: "ci may pull", effect: "allow", actions: ["registry:pull"], repositories: ["team/*"] }),
      });
      assert.equal(rule.status, 201, rule.text);
      ruleId = Number(rule.json().id);
    } finally {
      anon.close();
      client.close();
      assert.equal(await mcr.stop(), 0);
    }

    // A running embedded registry is refused: its instance lock.
    const running = await startMcr(old);
    await assert.rejects(run(MCR_BIN, ["migrate", "--from", old.config, "--config", fresh.config]), /mcr server \(pid \d+\) is using this database/);
    await running.stop();

    const { stdout } = await run(MCR_BIN, ["migrate", "--from", old.config, "--config", fresh.config, "--json"]);
    const r = JSON.parse(stdout);
    assert.equal(r.tables.repositories, 2);
    assert.equal(r.tables.manifests, 3);
    assert.equal(r.tables.tags, 3);
    assert.equal(r.tables.blobs, 7, "three configs, one shared blob, three layers");
    assert.equal(r.tables.accounts, 1);
    assert.ok(r.tables.tokens >= 1 && r.tables.audit_log > 0);
    assert.deepEqual([r.blobs.copied, r.blobs.present], [7, 0]);
    await assert.rejects(run(MCR_BIN, ["migrate", "--from", old.config, "--config", fresh.config]), /already holds registry content/);
    const files = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? files(join(dir, e.name)) : 1), 0);
    assert.equal(files(join(old.dir, "layers")), 7, "the old home keeps its blobs");

    // The scale-out registry: the old admin's password, the images, the rule.
    const moved = await startMcr(fresh, {}, { auth: true });
    const anon2 = new RegistryClient(moved.url, fresh.caPem);
    try {
      await assert.rejects(login(anon2, "admin", fresh.adminPassword), /401/, "init's admin was replaced by the migrated one");
      const client2 = new RegistryClient(moved.url, fresh.caPem, await login(anon2, "admin", old.adminPassword));
      try {
        for (const img of images) {
          const m = await client2.request("GET", `/v2/${img.repo}/manifests/${img.tag}`, { headers: { Accept: OCI_MANIFEST } });
          assert.equal(m.status, 200, m.text);
          assert.ok(m.body.equals(img.manifest));
          for (const b of img.blobs) {
            const got = await client2.request("GET", `/v2/${img.repo}/blobs/${sha256(b)}`);
            assert.equal(got.status, 200);
            assert.ok(got.body.equals(b));
          }
        }
        const rules = (await client2.request("GET", "/v1/policy/rules")).json().rules as { id: string; description: string }[];
        assert.deepEqual(
          rules.map((x) => [Number(x.id), x.description]),
          [[ruleId, "ci may pull"]],
        );
        const next = await client2.request("POST", "/v1/policy/rules", {
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ priority: 60, description: "after the move", effect: "deny", actions: ["registry:delete"] }),
        });
        assert.equal(next.status, 201, next.text);
        assert.equal(Number(next.json().id), ruleId + 1, "ids continue after the copied ones");
        const push = new PushClient(client2, moved.url);
        const layer = randomBytes(5000);
        await push.pushBlob("team/app", layer);
        assert.equal((await push.putManifest("team/app", "v3", imageManifest(images[0]!.blobs[0]!, [layer]), OCI_MANIFEST)).status, 201);
      } finally {
        client2.close();
      }
    } finally {
      anon2.close();
      await moved.stop();
    }
  });
});
