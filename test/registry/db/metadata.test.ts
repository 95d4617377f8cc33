import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { Metadata, type NewManifest } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";

const dg = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (digest: string, blobs: string[], extra: Partial<NewManifest> = {}): NewManifest => ({
  digest,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  content: Buffer.from(`{"m":"${digest}"}`),
  size: 10,
  blobDigests: blobs,
  childDigests: [],
  subjectDigest: null,
  artifactType: null,
  ...extra,
});

describe("registry metadata", () => {
  let db: Kysely<RegistryDatabase>;
  let meta: Metadata;
  let path: string;
  before(async () => {
    path = join(mkdtempSync(join(tmpdir(), "meta-")), "mcr.db");
    ({ db } = await openSqlite<RegistryDatabase>(path, registryMigrations));
    meta = new Metadata(db);
  });
  after(async () => {
    await db.destroy();
    rmSync(dirname(path), { recursive: true, force: true });
  });

  test("the database file is private and migrations are idempotent", async () => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = await openSqlite<RegistryDatabase>(path, registryMigrations);
    await again.db.destroy();
  });

  test("a blob is served only from repositories it was linked to", async () => {
    const a = await meta.ensureRepository("team/a");
    assert.equal(await meta.ensureRepository("team/a"), a);
    await meta.linkBlob(a, dg("1"), 5);
    assert.equal(await meta.blobInRepository("team/a", dg("1")), 5);
    assert.equal(await meta.blobInRepository("team/b", dg("1")), undefined);
    assert.equal(await meta.blobSize(dg("1")), 5);
  });

  test("a manifest with missing blobs writes nothing, not even its repository", async () => {
    const r = await meta.putManifest("fresh/repo", manifest(dg("2"), [dg("9")]), "v1");
    assert.deepEqual(r.missingBlobs, [dg("9")]);
    assert.equal(await meta.repositoryId("fresh/repo"), undefined);
  });

  test("tags move atomically; deleting a manifest removes its tags; deleting a tag keeps the manifest", async () => {
    const a = (await meta.repositoryId("team/a"))!;
    await meta.linkBlob(a, dg("3"), 7);
    assert.deepEqual(await meta.putManifest("team/a", manifest(dg("4"), [dg("1")]), "latest"), { missingBlobs: [], missingManifests: [] });
    await meta.putManifest("team/a", manifest(dg("5"), [dg("1"), dg("3")]), "latest");
    assert.equal((await meta.getManifest("team/a", "latest", false))?.digest, dg("5"));
    await meta.putManifest("team/a", manifest(dg("4"), [dg("1")]), "old");
    assert.deepEqual(await meta.listTags(a, 10, undefined), ["latest", "old"]);

    assert.equal(await meta.deleteTag("team/a", "old"), true);
    assert.ok(await meta.getManifest("team/a", dg("4"), true));
    assert.equal(await meta.deleteManifest("team/a", dg("5")), true);
    assert.equal(await meta.getManifest("team/a", "latest", false), undefined);
    assert.equal(await meta.deleteManifest("team/a", dg("5")), false);
  });

  test("an index needs its children in the same repository", async () => {
    const index = manifest(dg("6"), [], { mediaType: "application/vnd.oci.image.index.v1+json", childDigests: [dg("4"), dg("8")] });
    assert.deepEqual((await meta.putManifest("team/a", index, null)).missingManifests, [dg("8")]);
    assert.deepEqual((await meta.putManifest("team/a", { ...index, childDigests: [dg("4")] }, null)).missingManifests, []);
  });

  test("referrers are found by subject and filtered by artifact type", async () => {
    const a = (await meta.repositoryId("team/a"))!;
    await meta.putManifest("team/a", manifest(dg("a"), [dg("1")], { subjectDigest: dg("4"), artifactType: "application/x-sig" }), null);
    await meta.putManifest("team/a", manifest(dg("b"), [dg("1")], { subjectDigest: dg("4"), artifactType: "application/x-sbom" }), null);
    assert.deepEqual(
      (await meta.referrers(a, dg("4"), undefined)).map((r) => r.digest),
      [dg("a"), dg("b")],
    );
    assert.deepEqual(
      (await meta.referrers(a, dg("4"), "application/x-sbom")).map((r) => r.digest),
      [dg("b")],
    );
  });

  test("pagination after `last`", async () => {
    for (const n of ["p/c", "p/a", "p/b"]) await meta.ensureRepository(n);
    assert.deepEqual(await meta.listRepositories(2, "p/a"), ["p/b", "p/c"]);
  });

  test("upload sessions belong to one repository and track the acknowledged offset", async () => {
    const a = (await meta.repositoryId("team/a"))!;
    await meta.createUpload("u-1", a);
    await meta.setUploadOffset("u-1", 42);
    assert.deepEqual(await meta.getUpload("team/a", "u-1"), { uuid: "u-1", repositoryId: a, byteOffset: 42 });
    assert.equal(await meta.getUpload("team/b", "u-1"), undefined);
    await meta.deleteUpload("u-1");
    assert.deepEqual(await meta.uploadIds(), []);
  });

  test("unlinking a blob hides it from that repository only", async () => {
    const b = await meta.ensureRepository("team/b");
    await meta.linkBlob(b, dg("1"), 5);
    assert.equal(await meta.unlinkBlob("team/a", dg("1")), true);
    assert.equal(await meta.unlinkBlob("team/a", dg("1")), false);
    assert.equal(await meta.blobInRepository("team/a", dg("1")), undefined);
    assert.equal(await meta.blobInRepository("team/b", dg("1")), 5);
  });
});
