// The registry's metadata on a real PostgreSQL 15 (initdb'd by the test): the migrations
// that SQLite runs, sizes past 32 bits, byte-order listing, ids from RETURNING, and the
// serialisable transactions that keep GC's mark and a manifest push apart across replicas.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openPostgres } from "../../../lib/db/postgres.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { Inventory } from "../../../registry/db/inventory.ts";
import { Metadata, type NewManifest } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { mark } from "../../../registry/gc/mark.ts";
import { EmbeddedIdentity } from "../../../registry/identity/embedded.ts";
import { PolicyStore } from "../../../registry/policy/store.ts";
import { skipUnlessPostgres, startPostgres, type PgServer } from "../../helpers/postgres.ts";

const dg = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (digest: string, blobs: string[], extra: Partial<NewManifest> = {}): NewManifest => ({
  digest,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  content: Buffer.from(`{"m":"${digest}","\u0000":"bytes"}`),
  size: 10,
  blobDigests: blobs,
  childDigests: [],
  subjectDigest: null,
  artifactType: null,
  ...extra,
});
const GiB = 1024 ** 3;

describe("registry metadata on PostgreSQL", { skip: skipUnlessPostgres() }, () => {
  let server: PgServer;
  let db: Kysely<RegistryDatabase>;
  let meta: Metadata;
  let url: string;
  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
    ({ db } = await openPostgres<RegistryDatabase>(url, registryMigrations));
    meta = new Metadata(db);
  });
  after(async () => {
    await db?.destroy();
    await server?.stop();
  });

  test("the migrations make PostgreSQL types: identity keys, bigint sizes and offsets, bytea, byte-order names; a second open migrates nothing", async () => {
    const cols = await server.query(
      `select table_name || '.' || column_name as c, data_type, is_identity, collation_name from information_schema.columns where table_schema = 'public'`,
      url.split("/").pop(),
    );
    const col = (c: string) => cols.rows.find((r) => r.c === c)!;
    for (const id of ["repositories.id", "blobs.id", "manifests.id", "tags.id", "uploads.id", "policy_rules.id", "audit_log.id"]) {
      assert.equal(col(id).data_type, "bigint", id);
      assert.equal(col(id).is_identity, "YES", id);
    }
    for (const c of ["blobs.size", "manifests.size", "uploads.byte_offset", "tags.manifest_id", "manifest_blobs.blob_id"])
      assert.equal(col(c).data_type, "bigint", c);
    assert.equal(col("manifests.content").data_type, "bytea");
    for (const c of ["repositories.name", "tags.name", "accounts.username"]) assert.equal(col(c).collation_name, "C", c);
    const again = await openPostgres<RegistryDatabase>(url, registryMigrations);
    await again.db.destroy();
  });

  test("timestamps default to the same ISO 8601 text as SQLite's", async () => {
    const id = await meta.ensureRepository("time/check");
    const row = await db.selectFrom("repositories").select("created_at").where("id", "=", id).executeTakeFirstOrThrow();
    assert.match(row.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(row.created_at) - Date.now()) < 60_000);
  });

  test("blob sizes and upload offsets past 4 GiB; ids and counts come back as numbers", async () => {
    const repo = await meta.ensureRepository("big/blobs");
    assert.equal(typeof repo, "number");
    await meta.linkBlob(repo, dg("a"), 5 * GiB + 3);
    assert.equal(await meta.blobInRepository("big/blobs", dg("a")), 5 * GiB + 3);
    await meta.createUpload("00000000-0000-4000-8000-000000000001", repo);
    await meta.setUploadOffset("00000000-0000-4000-8000-000000000001", 3 * GiB);
    assert.equal((await meta.getUpload("big/blobs", "00000000-0000-4000-8000-000000000001"))?.byteOffset, 3 * GiB);
    assert.deepEqual(await meta.putManifest("big/blobs", manifest(dg("b"), [dg("a")]), "v1"), { missingBlobs: [], missingManifests: [] });
    const info = await new Inventory(db).repository("big/blobs");
    assert.equal(info?.tagCount, 1);
    assert.equal(info?.totalSize, 5 * GiB + 3 + 10);
    const stored = await meta.getManifest("big/blobs", "v1", false);
    assert.ok(Buffer.isBuffer(stored?.content));
    assert.deepEqual(stored?.content, manifest(dg("b"), []).content);
  });

  test("tags and repositories list in byte order, as on SQLite (not the locale's)", async () => {
    const repo = await meta.ensureRepository("order/x");
    await meta.linkBlob(repo, dg("c"), 1);
    for (const tag of ["b", "B", "a", "_z", "A1"]) await meta.putManifest("order/x", manifest(dg("d"), [dg("c")]), tag);
    assert.deepEqual(await meta.listTags(repo, 10, undefined), ["A1", "B", "_z", "a", "b"]);
    assert.deepEqual(await meta.listTags(repo, 10, "_z"), ["a", "b"]);
    await meta.ensureRepository("Order/y");
    const names = await meta.listRepositories(100, undefined);
    assert.ok(names.indexOf("Order/y") < names.indexOf("big/blobs"));
  });

  test("a policy rule gets its id from RETURNING; audit events and accounts work", async () => {
    const audit = new AuditLog(db, silentLogger());
    const policies = new PolicyStore(db, audit);
    const a = await policies.create({ priority: 5, description: "first", effect: "allow", actions: ["registry:pull"] }, "t");
    const b = await policies.create({ priority: 6, description: "second", effect: "deny" }, "t");
    assert.equal(typeof a.id, "number");
    assert.equal(b.id, a.id + 1);
    assert.equal((await policies.get(b.id))?.description, "second");
    const events = await audit.list({ type: "policy_rule_created" });
    assert.equal(events.length, 2);
    assert.equal(typeof events[0]!.id, "number");
    assert.ok((await audit.newestId()) >= events[0]!.id);

    const identity = new EmbeddedIdentity(db, { tokenTtlMs: 60_000, loginsPerMinute: 10 });
    await identity.accounts.create("pgadmin", "correct horse battery", "human", ["admin"]);
    const { token } = await identity.login({ username: "pgadmin", password: "correct horse battery", serviceName: "mcr", tags: [] });
    assert.equal((await identity.validate(token))?.username, "pgadmin");
    await identity.accounts.setDisabled("pgadmin", true);
    assert.equal(await identity.validate(token), null);
  });

  test("a manifest push and GC's mark on another connection never leave a manifest pointing at a missing blob row", async () => {
    // Many rounds: each time a fresh unreferenced blob whose grace has passed, marked by one
    // connection while another pushes a manifest that references it. Serialisable
    // transactions (retried) order them: either the push wins and the blob stays, or the
    // mark wins and the push reports the blob missing.
    const other = (await openPostgres<RegistryDatabase>(url, registryMigrations)).db;
    try {
      const otherMeta = new Metadata(other);
      const repo = await meta.ensureRepository("race/r");
      let pushed = 0;
      let refused = 0;
      for (let i = 0; i < 30; i++) {
        const blob = `sha256:${i.toString(16).padStart(64, "e")}`;
        await meta.linkBlob(repo, blob, 1);
        await db.updateTable("blobs").set({ last_used_at: "2000-01-01T00:00:00.000Z" }).where("digest", "=", blob).execute();
        const content = Buffer.from(`{"race":${i}}`);
        const [push] = await Promise.all([
          otherMeta.putManifest("race/r", { ...manifest(`sha256:${i.toString(16).padStart(64, "f")}`, [blob]), content }, `t${i}`),
          mark(db, { cutoff: "2001-01-01T00:00:00.000Z", untagged: false, dryRun: false }),
        ]);
        if (push.missingBlobs.length) refused++;
        else pushed++;
        const dangling = await db
          .selectFrom("manifest_blobs as mb")
          .leftJoin("blobs as b", "b.id", "mb.blob_id")
          .select("mb.blob_id")
          .where("b.id", "is", null)
          .execute();
        assert.equal(dangling.length, 0);
        if (!push.missingBlobs.length) assert.equal(await meta.blobSize(blob), 1, "a referenced blob keeps its row");
      }
      assert.equal(pushed + refused, 30);
    } finally {
      await other.destroy();
    }
  });
});
