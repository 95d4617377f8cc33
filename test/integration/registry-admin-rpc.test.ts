// Every admin RPC through a real Connect client over TLS against a running mcr with
// authentication on, the roles they need, and deleting a repository then collecting
// garbage frees its bytes on disk. The REST equivalents are in registry-admin-rest.test.ts.
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcService } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

const code = (c: Code) => (err: unknown) => err instanceof ConnectError && err.code === c;

/** Bytes of every file under `dir`. */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? bytesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

describe("mcr admin RPCs over Connect and TLS", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let anon: RegistryClient;
  let admin: ReturnType<typeof bearer>;
  let user: ReturnType<typeof bearer>;
  let agent: ReturnType<typeof bearer>;
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layers = [randomBytes(1024 * 1024), randomBytes(512 * 1024)];
  const body = imageManifest(config, layers);
  const digest = sha256(body);
  const rpc = <S extends Parameters<typeof adminClient>[0]>(s: S) => adminClient(s, mcr.url, home.caPem);

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home, {}, { auth: true });
    anon = new RegistryClient(mcr.url, home.caPem);
    const adminToken = await login(anon, "admin", home.adminPassword);
    admin = bearer(adminToken);
    user = bearer(await login(anon, "alice", await addAccount(home, "alice", "human", ["user"])));
    agent = bearer(await login(anon, "admin", home.adminPassword, "mcp-agent"));
    const pushing = new RegistryClient(mcr.url, home.caPem, adminToken);
    const push = new PushClient(pushing, mcr.url);
    for (const repo of ["team/app", "team/other"]) {
      for (const b of [config, ...layers]) await push.pushBlob(repo, b);
      for (const tag of ["v1", "v2"]) assert.equal((await push.putManifest(repo, tag, body, OCI_MANIFEST)).status, 201);
    }
    pushing.close();
  });
  after(async () => {
    anon.close();
    await mcr.stop();
    removeHome(home);
  });

  test("RegistryService reads: repositories (paginated) with counts and sizes, a repository, a manifest by tag or digest", async () => {
    const registry = rpc(RegistryService);
    const page1 = await registry.listRepositories({ limit: 1 }, user);
    assert.deepEqual(
      page1.repositories.map((r) => r.name),
      ["team/app"],
    );
    assert.equal(page1.nextPageToken, "team/app");
    const page2 = await registry.listRepositories({ limit: 1, pageToken: page1.nextPageToken }, user);
    assert.deepEqual(
      page2.repositories.map((r) => r.name),
      ["team/other"],
    );
    assert.equal(page2.nextPageToken, "");
    const app = page1.repositories[0]!;
    assert.equal(app.tagCount, 2);
    assert.equal(app.manifestCount, 1);
    assert.equal(app.totalSize, BigInt(config.length + layers[0]!.length + layers[1]!.length + body.length));

    const repo = await registry.getRepository({ name: "team/app" }, user);
    assert.deepEqual(
      repo.tags.map((t) => [t.name, t.digest]),
      [
        ["v1", digest],
        ["v2", digest],
      ],
    );
    const m = repo.manifests[0]!;
    assert.equal(m.digest, digest);
    assert.equal(m.mediaType, OCI_MANIFEST);
    assert.deepEqual(m.tags, ["v1", "v2"]);
    assert.deepEqual(
      m.blobs.map((b) => [b.role, b.digest, Number(b.size)]),
      [["config", sha256(config), config.length], ...layers.map((l) => ["layer", sha256(l), l.length])],
    );
    assert.equal(m.blobsSize, BigInt(config.length + layers[0]!.length + layers[1]!.length));

    const byTag = await registry.getManifest({ repository: "team/app", reference: "v1" }, user);
    assert.equal(byTag.manifest?.digest, digest);
    assert.equal(byTag.content, body.toString("utf8"));
    assert.equal((await registry.getManifest({ repository: "team/app", reference: digest }, user)).manifest?.digest, digest);
    await assert.rejects(registry.getManifest({ repository: "team/app", reference: "nope" }, user), code(Code.NotFound));
    await assert.rejects(registry.getRepository({ name: "team/none" }, user), code(Code.NotFound));
    await assert.rejects(registry.getRepository({ name: "Bad//Name" }, user), code(Code.InvalidArgument));
  });

  test("authentication: no token, or a token issued for another service, is unauthenticated", async () => {
    const registry = rpc(RegistryService);
    await assert.rejects(registry.listRepositories({}), code(Code.Unauthenticated));
    await assert.rejects(registry.listRepositories({}, agent), (e) => code(Code.Unauthenticated)(e) && /issued for mcp-agent/.test((e as Error).message));
    assert.equal((await rpc(AdminService).health({})).status, "ok");
  });

  test("admin only: deletes, GC, policy, audit, snapshot and check refuse a user with permission_denied", async () => {
    const denied = code(Code.PermissionDenied);
    await assert.rejects(rpc(RegistryService).deleteTag({ repository: "team/app", tag: "v2" }, user), denied);
    await assert.rejects(rpc(RegistryService).deleteRepository({ name: "team/app" }, user), denied);
    await assert.rejects(rpc(GcService).start({ options: { dryRun: true } }, user), denied);
    await assert.rejects(rpc(GcService).status({}, user), denied);
    await assert.rejects(rpc(PolicyService).listRules({}, user), denied);
    await assert.rejects(rpc(AuditService).listEvents({}, user), denied);
    await assert.rejects(rpc(AdminService).snapshot({}, user), denied);
    await assert.rejects(rpc(AdminService).check({}, user), denied);
    const follow = rpc(AuditService).followEvents({}, user)[Symbol.asyncIterator]();
    await assert.rejects(follow.next(), denied);
  });

  test("DeleteTag, and AuditService: ListEvents and FollowEvents see it", async () => {
    const audit = rpc(AuditService);
    const stop = new AbortController();
    // Follow from the newest event listed, so the delete below is seen however the calls interleave.
    const newest = (await audit.listEvents({ limit: 1 }, admin)).events[0]!.id;
    const follow = audit.followEvents({ type: "tag_deleted", afterId: newest }, { ...admin, signal: stop.signal })[Symbol.asyncIterator]();
    const next = follow.next();
    await rpc(RegistryService).deleteTag({ repository: "team/app", tag: "v2" }, admin);
    const got = await next;
    assert.equal(got.value?.events[0]?.type, "tag_deleted");
    assert.equal(got.value?.events[0]?.details.tag, "v2");
    stop.abort();
    await follow.return?.();
    assert.equal((await anon.request("GET", "/v2/team/app/manifests/v2")).status, 401);
    const listed = await audit.listEvents({ type: "manifest_pushed", limit: 2 }, admin);
    assert.equal(listed.events.length, 2);
    assert.equal(listed.events[0]!.digest, digest);
    await assert.rejects(rpc(RegistryService).deleteTag({ repository: "team/app", tag: "v2" }, admin), code(Code.NotFound));
  });

  test("PolicyService CRUD", async () => {
    const policy = rpc(PolicyService);
    const created = await policy.createRule(
      { rule: { priority: 10, description: "ci may pull", effect: "allow", actions: ["registry:pull"], accountTypes: ["system"] } },
      admin,
    );
    const id = created.rule!.id;
    assert.ok((await policy.listRules({}, admin)).rules.some((r) => r.id === id));
    assert.equal((await policy.updateRule({ id, enabled: false }, admin)).rule?.enabled, false);
    assert.equal((await policy.getRule({ id }, admin)).rule?.description, "ci may pull");
    await policy.deleteRule({ id }, admin);
    await assert.rejects(policy.getRule({ id }, admin), code(Code.NotFound));
  });

  test("AdminService: Snapshot writes backups/mcr-YYYYMMDD-HHMMSS.db; Check finds nothing wrong", async () => {
    const snap = await rpc(AdminService).snapshot({}, admin);
    assert.match(snap.path, /\/backups\/mcr-\d{8}-\d{6}(-\d+)?\.db$/);
    assert.ok(snap.path.startsWith(home.dir));
    assert.ok(existsSync(snap.path));
    assert.equal(BigInt(statSync(snap.path).size), snap.size);
    assert.equal(statSync(snap.path).mode & 0o777, 0o600);
    const check = await rpc(AdminService).check({}, admin);
    assert.equal(check.ok, true);
    assert.equal(check.blobRows, 3n);
    assert.deepEqual([check.orphanFiles, check.missingFiles, check.integrityErrors], [[], [], []]);
  });

  test("DeleteRepository then GC: the blobs only that repository used are freed on disk", async () => {
    const gc = rpc(GcService);
    // team/other shares every blob with team/app: nothing can go yet.
    const layersDir = join(home.dir, "layers");
    const before = bytesUnder(layersDir);
    const gone = await rpc(RegistryService).deleteRepository({ name: "team/other" }, admin);
    assert.deepEqual([gone.manifestsDeleted, gone.tagsDeleted], [1, 2]);
    await assert.rejects(rpc(RegistryService).getRepository({ name: "team/other" }, admin), code(Code.NotFound));
    const run1 = (await gc.start({ options: { grace: "0s" } }, admin)).run!;
    let last = run1;
    for await (const { run } of gc.watch({}, admin)) if (run?.id === run1.id) last = run;
    assert.equal(last.phase, "done");
    assert.equal(last.blobsSwept, 0n, "team/app still references them");
    assert.equal(bytesUnder(layersDir), before);

    await rpc(RegistryService).deleteRepository({ name: "team/app" }, admin);
    const run2 = (await gc.start({ options: { grace: "0s" } }, admin)).run!;
    for await (const { run } of gc.watch({}, admin)) if (run?.id === run2.id) last = run;
    const freed = before - bytesUnder(layersDir);
    assert.equal(freed, config.length + layers[0]!.length + layers[1]!.length);
    assert.equal(last.bytesFreed, BigInt(freed));
    assert.equal(last.blobsSwept, 3n);
    const status = await gc.status({}, admin);
    assert.equal(status.current, undefined);
    assert.equal(status.last?.id, run2.id);
    assert.equal(status.last?.actor.length, 36, "the admin's account id");
    const events = await rpc(AuditService).listEvents({ type: "gc_completed", limit: 1 }, admin);
    assert.equal(events.events[0]?.details.bytes_freed, String(freed));
  });
});
