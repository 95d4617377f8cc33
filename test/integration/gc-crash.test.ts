// mcr killed with SIGKILL between garbage collection's phases: the rows are gone and the
// files stay (orphans); `mcr check` reports them, a restarted server takes over the stale
// instance lock, and `mcr gc --reconcile` (asking the running server) removes them. Also:
// the offline `mcr gc` on a stopped registry, and a server refused while an offline
// command holds the database.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { GC_PAUSED, pauseGcAfterMark } from "../helpers/gc-pause.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, MCR_BIN, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);

async function mcr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(MCR_BIN, args);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("GC interrupted by kill -9 between its phases, then reconcile", () => {
  let home: McrHome;
  let server: McrProcess | undefined;
  let client: RegistryClient | undefined;
  const garbage = [randomBytes(10_000), randomBytes(20_000), randomBytes(30_000)];
  const config = Buffer.from('{"os":"linux"}');
  const layer = randomBytes(5000);
  const file = (d: string) => join(home.dir, "layers", "sha256", d.slice(7, 9), d.slice(7));

  before(async () => {
    home = await initHome();
  });
  after(async () => {
    client?.close();
    await server?.stop("SIGKILL");
    removeHome(home);
  });

  async function start(env: NodeJS.ProcessEnv = {}): Promise<{ push: PushClient; client: RegistryClient }> {
    server = await startMcr(home, env);
    client?.close();
    client = new RegistryClient(server.url, home.caPem);
    return { push: new PushClient(client, server.url), client };
  }

  test("killed after the mark: rows gone, files left; check reports them; reconcile through the restarted server removes them", async () => {
    const { push, client: c } = await start(pauseGcAfterMark());
    for (const g of garbage) await push.pushBlob("crash/a", g);
    for (const b of [config, layer]) await push.pushBlob("crash/a", b);
    assert.equal((await push.putManifest("crash/a", "keep", imageManifest(config, [layer]), OCI_MANIFEST)).status, 201);
    const started = await c.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body: '{"grace":"0s"}' });
    assert.equal(started.status, 202, started.text);
    await until("the mark phase", async () => (server!.logs().includes(GC_PAUSED) ? true : undefined), 20_000, 50);
    assert.equal(await server!.stop("SIGKILL"), "SIGKILL");
    server = undefined;
    assert.ok(existsSync(`${join(home.dir, "mcr.db")}.lock`), "the lock of the killed process is left behind");
    for (const g of garbage) assert.ok(existsSync(file(sha256(g))), "the sweep never ran");

    // Stopped: `mcr check` works on the files directly (taking over the stale lock).
    const check = await mcr(["check", "--json", "--config", home.config]);
    assert.equal(check.code, 0, check.stderr);
    const report = JSON.parse(check.stdout);
    assert.deepEqual(new Set(report.orphanFiles), new Set(garbage.map(sha256)));
    assert.deepEqual(report.missingFiles, []);

    const { client: c2 } = await start();
    const gc = await mcr(["gc", "--reconcile", "--config", home.config]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stderr, /started on the running server/);
    assert.match(gc.stdout, /reconcile: 3 files without a row removed, 0 rows without a file/);
    for (const g of garbage) assert.equal(existsSync(file(sha256(g))), false);
    assert.ok(existsSync(file(sha256(layer))));
    assert.equal((await c2.request("GET", `/v2/crash/a/blobs/${sha256(layer)}`)).status, 200);
    const after = JSON.parse((await mcr(["check", "--json", "--config", home.config])).stdout);
    assert.deepEqual([after.ok, after.orphanFiles, after.missingFiles], [true, [], []]);
  });

  test("with the server stopped, mcr gc collects directly; the server cannot start meanwhile", async () => {
    assert.equal(await server!.stop(), 0);
    server = undefined;
    assert.equal(existsSync(`${join(home.dir, "mcr.db")}.lock`), false, "a clean stop removes the lock");
    const dry = await mcr(["gc", "--dry-run", "--untagged", "--json", "--grace", "0s", "--config", home.config]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /server is not running: collecting directly/);
    const result = JSON.parse(dry.stdout);
    assert.equal(result.actor, "cli");
    assert.equal(result.manifests_removed, "0", "the tagged manifest stays");

    // An offline command holding the database (a live process in the lock) keeps the server from starting.
    const holder = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(`${join(home.dir, "mcr.db")}.lock`, JSON.stringify({ pid: holder.pid, kind: "gc", startedAt: new Date().toISOString() }));
      await assert.rejects(startMcr(home), /mcr gc \(pid \d+.*\) is using this database/);
      const refused = await mcr(["gc", "--config", home.config]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /mcr gc \(pid \d+/);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
    }
    const restore = await start();
    assert.equal((await restore.client.request("GET", `/v2/crash/a/manifests/keep`)).status, 200);
    const lock = JSON.parse(readFileSync(`${join(home.dir, "mcr.db")}.lock`, "utf8"));
    assert.equal(lock.kind, "server");
    assert.equal(lock.pid, server!.child.pid);
  });
});
