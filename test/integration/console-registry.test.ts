// `mcp registry|gc|policy|audit|snapshot --json` as the real binary against a real mcr
// (authentication on, the console logged in as admin and as a plain user): repositories,
// tags, a manifest's layers, deletes, policy rules, the audit log and its follow stream,
// GC dry run and a real run with Watch NDJSON, a snapshot; errors and exit codes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { mcp, mcpStream, type McpResult } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

describe("mcp registry, gc, policy, audit and snapshot against a real mcr", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let userEnv: NodeJS.ProcessEnv;
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layers = [randomBytes(256 * 1024), randomBytes(128 * 1024)];
  const body = imageManifest(config, layers);
  const digest = sha256(body);
  const only = randomBytes(64 * 1024);
  const run = (args: string[], input?: string) => mcp(args, env, input, 30_000);
  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  before(async () => {
    home = await initHome();
    const userPassword = await addAccount(home, "viewer", "human", ["user"]);
    mcr = await startMcr(home, {}, { auth: true });
    const anon = new RegistryClient(mcr.url, home.caPem);
    const pushing = new RegistryClient(mcr.url, home.caPem, await login(anon, "admin", home.adminPassword));
    const push = new PushClient(pushing, mcr.url);
    for (const repo of ["team/app", "team/other"]) {
      for (const b of [config, ...layers]) await push.pushBlob(repo, b);
      for (const tag of ["v1", "v2"]) assert.equal((await push.putManifest(repo, tag, body, OCI_MANIFEST)).status, 201);
    }
    // One image only team/other holds: deleting the repository and collecting frees it.
    for (const b of [config, only]) await push.pushBlob("team/other", b);
    assert.equal((await push.putManifest("team/other", "v3", imageManifest(config, [only]), OCI_MANIFEST)).status, 201);
    pushing.close();
    anon.close();
    dir = mkdtempSync(join(tmpdir(), "mcp-registry-it-"));
    const configDir = join(dir, "config", "mcp");
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "mcp.toml"), `ca_cert = "${home.caPath}"\n\n[registry]\nurl = "${mcr.url}"\n`);
    env = { XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    userEnv = { ...env, XDG_STATE_HOME: join(dir, "state-user") };
    ok(await run(["login", "--username", "admin", "--password-stdin", "--json"], home.adminPassword));
    ok(await mcp(["login", "--username", "viewer", "--password-stdin", "--json"], userEnv, userPassword));
  });

  after(async () => {
    await mcr?.stop();
    if (home) removeHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("registry repos, tags and manifest: counts, sizes and layers; plain text has no ANSI; a missing manifest exits 3", async () => {
    const repos = await run(["registry", "repos", "--json"]);
    ok(repos);
    const app = repos.json().repositories.find((r: { name: string }) => r.name === "team/app");
    assert.equal(app.tagCount, 2);
    assert.equal(app.manifestCount, 1);
    assert.ok(app.totalSize >= 384 * 1024, String(app.totalSize));

    const tags = await run(["registry", "tags", "team/app", "--json"]);
    ok(tags);
    assert.deepEqual(
      tags
        .json()
        .tags.map((t: { name: string }) => t.name)
        .sort(),
      ["v1", "v2"],
    );
    assert.equal(tags.json().tags[0].digest, digest);

    const m = await run(["registry", "manifest", "team/app:v1", "--json"]);
    ok(m);
    assert.equal(m.json().manifest.digest, digest);
    assert.deepEqual(
      m
        .json()
        .manifest.blobs.map((b: { size: number }) => b.size)
        .sort((a: number, b: number) => a - b),
      [config.length, 128 * 1024, 256 * 1024],
    );
    assert.equal(m.json().content, body.toString());
    const byDigest = await run(["registry", "manifest", `team/app@${digest}`, "--json"]);
    ok(byDigest);

    const plain = await run(["registry", "tags", "team/app"]);
    ok(plain);
    assert.match(plain.stdout, /^TAG +DIGEST +SIZE +UPDATED$/m);
    assert.doesNotMatch(plain.stdout, /\x1b\[/);

    const missing = await run(["registry", "manifest", "team/app:nope", "--json"]);
    assert.equal(missing.code, 3, missing.stdout + missing.stderr);
    assert.equal(missing.json().error.code, "not_found");
    const usage = await run(["registry", "frobnicate", "--json"]);
    assert.equal(usage.code, 2);
    assert.equal(usage.json().error.code, "usage");
  });

  test("policy create, list, disable, enable, update and delete; a plain user is refused with exit 5", async () => {
    const created = await run([
      "policy",
      "create",
      "--effect",
      "deny",
      "--actions",
      "registry:push",
      "--repos",
      "team/locked/*",
      "--priority",
      "50",
      "--description",
      "frozen",
      "--json",
    ]);
    ok(created);
    const rule = created.json().rule;
    assert.equal(rule.effect, "deny");
    assert.deepEqual(rule.actions, ["registry:push"]);
    assert.equal(rule.enabled, true);
    const id = String(rule.id);
    const list = await run(["policy", "list", "--json"]);
    ok(list);
    assert.ok(list.json().rules.some((r: { id: number }) => r.id === rule.id));
    const disabled = await run(["policy", "disable", id, "--json"]);
    ok(disabled);
    assert.equal(disabled.json().rule.enabled, false);
    ok(await run(["policy", "enable", id, "--json"]));
    const updated = await run(["policy", "update", id, "--priority", "60", "--description", "frozen harder", "--json"]);
    ok(updated);
    assert.equal(updated.json().rule.priority, 60);
    assert.equal(updated.json().rule.description, "frozen harder");
    const deleted = await run(["policy", "delete", id, "--json"]);
    ok(deleted);
    assert.deepEqual(deleted.json(), { id: rule.id, deleted: true });
    const gone = await run(["policy", "delete", id, "--json"]);
    assert.equal(gone.code, 3);

    const refused = await mcp(["policy", "list", "--json"], userEnv);
    assert.equal(refused.code, 5, refused.stdout);
    assert.equal(refused.json().error.code, "permission_denied");
    assert.match(refused.json().error.message, /admin/);
  });

  test("audit lists newest first with filters; -f streams new events as NDJSON from the newest listed", async () => {
    const pushed = await run(["audit", "--type", "manifest_pushed", "--repo", "team/app", "--json"]);
    ok(pushed);
    const events = pushed.json().events;
    assert.ok(events.length >= 2);
    assert.ok(events.every((e: { type: string; repository: string }) => e.type === "manifest_pushed" && e.repository === "team/app"));
    assert.ok(events[0].id > events[1].id, "newest first");

    // The follow starts after the newest event it lists (team/app has some), so the delete
    // below reaches it however long the subscription takes: no wait is needed.
    const follow = mcpStream(["audit", "-f", "--repo", "team/app", "--json"], env);
    try {
      const del = await run(["registry", "delete", "team/app:v2", "--json"]);
      ok(del);
      assert.deepEqual(del.json(), { repository: "team/app", tag: "v2", deleted: true });
      const e = await follow.waitFor((r) => r.type === "tag_deleted" && r.repository === "team/app", 10_000);
      assert.equal(typeof e.id, "number");
    } finally {
      assert.equal(await follow.stop(), 0, follow.stderr());
    }
    // The tag_deleted row carries the admin's account id; tables name it, and --actor admin
    // finds it as well as the admin's logins (which carry the name).
    const mine = await run(["audit", "--actor", "admin", "-n", "1000"]);
    ok(mine);
    assert.match(mine.stdout, /^\d+ +\S+ +tag_deleted +admin +team\/app/m);
    assert.match(mine.stdout, /^\d+ +\S+ +login_ok +admin /m);
  });

  test("delete a repository; gc --dry-run lists what would go and frees nothing; gc --watch streams Watch NDJSON to a done run that frees it", async () => {
    const del = await run(["registry", "delete", "team/other", "--json"]);
    ok(del);
    assert.deepEqual(del.json(), { repository: "team/other", manifestsDeleted: 2, tagsDeleted: 3 });

    const dry = await run(["gc", "--dry-run", "--grace", "0s", "--json"]);
    ok(dry);
    const d = dry.json().run;
    assert.equal(d.options.dryRun, true);
    assert.equal(d.phase, "done");
    assert.ok(d.bytesMarked >= only.length, JSON.stringify(d));
    assert.equal(d.bytesFreed, 0);
    assert.ok(d.items.some((i: { digest: string }) => i.digest === sha256(only)));

    const real = await run(["gc", "--watch", "--grace", "0s", "--json"]);
    ok(real);
    const records = real.records();
    assert.ok(records.length >= 2, real.stdout);
    assert.ok(records.every((r) => typeof r.run?.id === "string" && r.run.id === records[0].run.id));
    assert.equal(records[0].run.running, true);
    const last = records[records.length - 1].run;
    assert.equal(last.running, false);
    assert.equal(last.phase, "done");
    assert.equal(last.options.dryRun, false);
    assert.ok(last.bytesFreed >= only.length, JSON.stringify(last));

    const again = await run(["gc", "--dry-run", "--grace", "0s", "--json"]);
    assert.equal(again.json().run.bytesMarked, 0);
    const repos = await run(["registry", "repos", "--json"]);
    assert.deepEqual(
      repos.json().repositories.map((r: { name: string }) => r.name),
      ["team/app"],
    );

    const plain = await run(["gc", "--reconcile", "--grace", "0s"]);
    ok(plain);
    assert.match(plain.stdout, /phase +done/);
    assert.doesNotMatch(plain.stdout, /\x1b\[/);
  });

  test("snapshot writes a database copy under the registry's backups; a plain user gets exit 5", async () => {
    const r = await run(["snapshot", "--json"]);
    ok(r);
    assert.match(r.json().path, /backups\/mcr-\d{8}-\d{6}\.db$/);
    assert.ok(r.json().size > 0);
    assert.ok(existsSync(r.json().path));
    const refused = await mcp(["snapshot", "--json"], userEnv);
    assert.equal(refused.code, 5);
  });
});
