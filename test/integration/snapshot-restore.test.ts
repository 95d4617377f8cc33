// `mcr snapshot` taken while images are being pushed, then `mcr restore` on the stopped
// registry: the restored registry is consistent (every tag pulls whole, integrity ok, no
// row without its file); the blobs pushed after the snapshot are files without rows,
// which `mcr gc --reconcile` removes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, MCR_BIN, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

const run = promisify(execFile);
const mcr = async (...args: string[]) => (await run(MCR_BIN, args)).stdout;

describe("snapshot during pushes, restore", () => {
  let home: McrHome;
  let server: McrProcess | undefined;
  let client: RegistryClient | undefined;

  before(async () => {
    home = await initHome();
  });
  after(async () => {
    client?.close();
    await server?.stop();
    removeHome(home);
  });

  async function start(): Promise<RegistryClient> {
    server = await startMcr(home);
    client?.close();
    client = new RegistryClient(server.url, home.caPem);
    return client;
  }

  test("the restored registry is consistent and pulls whole; later blobs are orphans for reconcile", async () => {
    let c = await start();
    const push = new PushClient(c, server!.url);
    const done: { repo: string; tag: string; at: number }[] = [];
    let stop = false;
    const pusher = async (repo: string) => {
      for (let i = 0; !stop; i++) {
        const config = Buffer.from(`{"repo":"${repo}","i":${i}}`);
        const layers = [randomBytes(32 * 1024), randomBytes(16 * 1024)];
        for (const b of [config, ...layers]) await push.pushBlob(repo, b);
        const res = await push.putManifest(repo, `t${i}`, imageManifest(config, layers), OCI_MANIFEST);
        assert.equal(res.status, 201, res.text);
        done.push({ repo, tag: `t${i}`, at: Date.now() });
      }
    };
    const pushing = Promise.all([pusher("snap/a"), pusher("snap/b")]);
    while (done.length < 10) await new Promise((r) => setTimeout(r, 20));
    const snapStarted = Date.now();
    const snap = JSON.parse(await mcr("snapshot", "--json", "--config", home.config));
    const snapEnded = Date.now();
    const target = done.length + 10;
    while (done.length < target) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await pushing;
    assert.match(snap.path, /backups\/mcr-\d{8}-\d{6}(-\d+)?\.db$/);

    assert.equal(await server!.stop(), 0);
    const restored = await mcr("restore", snap.path, "--config", home.config);
    assert.match(restored, /the previous database is .*mcr\.db\.pre-restore/);
    assert.ok(existsSync(join(home.dir, "mcr.db.pre-restore")));

    c = await start();
    const tags = new Set<string>();
    for (const repo of ["snap/a", "snap/b"]) {
      const detail = (await c.request("GET", `/v1/repositories/${repo}`)).json();
      for (const t of detail.tags as { name: string; digest: string }[]) {
        tags.add(`${repo}:${t.name}`);
        const m = await c.request("GET", `/v2/${repo}/manifests/${t.name}`);
        assert.equal(m.status, 200);
        assert.equal(sha256(m.body), t.digest);
        const doc = m.json();
        for (const d of [doc.config, ...doc.layers]) {
          const b = await c.request("GET", `/v2/${repo}/blobs/${d.digest}`);
          assert.equal(b.status, 200, `${repo}:${t.name} ${d.digest}`);
          assert.equal(sha256(b.body), d.digest);
        }
      }
    }
    for (const d of done.filter((x) => x.at < snapStarted)) assert.ok(tags.has(`${d.repo}:${d.tag}`), `pushed before the snapshot: ${d.repo}:${d.tag}`);
    for (const d of done.filter((x) => x.at > snapEnded + 1000)) assert.ok(!tags.has(`${d.repo}:${d.tag}`), `pushed after the snapshot: ${d.repo}:${d.tag}`);

    const check = JSON.parse(await mcr("check", "--json", "--config", home.config));
    assert.equal(check.ok, true);
    assert.deepEqual(check.integrityErrors, []);
    assert.deepEqual(check.missingFiles, []);
    assert.ok(check.orphanFiles.length >= 3, "the blobs pushed after the snapshot have no rows");
    await mcr("gc", "--reconcile", "--config", home.config);
    const after = JSON.parse(await mcr("check", "--json", "--config", home.config));
    assert.deepEqual([after.ok, after.orphanFiles], [true, []]);
  });
});
