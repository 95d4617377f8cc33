// Registry metadata: repositories, blobs and their links, manifests, tags and
// upload sessions. The only module that writes SQL for the OCI API.
import { sql, type Kysely, type Transaction } from "kysely";
import { serializable } from "./dialect.ts";
import type { RegistryDatabase } from "./schema.ts";

export interface StoredManifest {
  digest: string;
  mediaType: string;
  content: Buffer;
  size: number;
}

export interface NewManifest extends StoredManifest {
  /** Blobs the manifest references (config, layers); each must already be linked to the repository. */
  blobDigests: string[];
  /** Manifests an index references; each must already exist in the repository. */
  childDigests: string[];
  subjectDigest: string | null;
  artifactType: string | null;
}

export interface ReferrerRow {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  content: Buffer;
}

export interface UploadRow {
  uuid: string;
  repositoryId: number;
  byteOffset: number;
}

type Db = Kysely<RegistryDatabase> | Transaction<RegistryDatabase>;

const nowIso = () => new Date().toISOString();

export class Metadata {
  constructor(private readonly db: Kysely<RegistryDatabase>) {}

  async repositoryId(name: string): Promise<number | undefined> {
    const row = await this.db.selectFrom("repositories").select("id").where("name", "=", name).executeTakeFirst();
    return row?.id;
  }

  async ensureRepository(name: string, db: Db = this.db): Promise<number> {
    await db
      .insertInto("repositories")
      .values({ name })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const row = await db.selectFrom("repositories").select("id").where("name", "=", name).executeTakeFirstOrThrow();
    return row.id;
  }

  /** The blob's size if `digest` may be served from repository `name`. */
  async blobInRepository(name: string, digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom("blobs as b")
      .innerJoin("repository_blobs as rb", "rb.blob_id", "b.id")
      .innerJoin("repositories as r", "r.id", "rb.repository_id")
      .select("b.size")
      .where("r.name", "=", name)
      .where("b.digest", "=", digest)
      .executeTakeFirst();
    return row?.size;
  }

  async blobSize(digest: string): Promise<number | undefined> {
    const row = await this.db.selectFrom("blobs").select("size").where("digest", "=", digest).executeTakeFirst();
    return row?.size;
  }

  /**
   * Records a verified blob (if new) and links it to the repository. Only an upload commit
   * calls this, holding the digest's lock (registry/gc: a row is never created for a file
   * that garbage collection may be removing). Refreshes the blob's GC grace window.
   */
  async linkBlob(repositoryId: number, digest: string, size: number): Promise<void> {
    const now = nowIso();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("blobs")
        .values({ digest, size, last_used_at: now })
        .onConflict((oc) => oc.column("digest").doUpdateSet({ last_used_at: now }))
        .execute();
      const blob = await trx.selectFrom("blobs").select("id").where("digest", "=", digest).executeTakeFirstOrThrow();
      await trx
        .insertInto("repository_blobs")
        .values({ repository_id: repositoryId, blob_id: blob.id })
        .onConflict((oc) => oc.columns(["repository_id", "blob_id"]).doNothing())
        .execute();
    });
  }

  /**
   * Cross-repository mount: links an existing blob that repository `from` may serve into
   * `repositoryId`, in one transaction, and refreshes its grace window. Never creates a
   * blob row, so it cannot bring back a row that garbage collection has removed.
   * Returns false when there is nothing to mount.
   */
  async mountBlob(repositoryId: number, from: string, digest: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("blobs as b")
        .innerJoin("repository_blobs as rb", "rb.blob_id", "b.id")
        .innerJoin("repositories as r", "r.id", "rb.repository_id")
        .select("b.id")
        .where("r.name", "=", from)
        .where("b.digest", "=", digest)
        .executeTakeFirst();
      if (!row) return false;
      await trx.updateTable("blobs").set({ last_used_at: nowIso() }).where("id", "=", row.id).execute();
      await trx
        .insertInto("repository_blobs")
        .values({ repository_id: repositoryId, blob_id: row.id })
        .onConflict((oc) => oc.columns(["repository_id", "blob_id"]).doNothing())
        .execute();
      return true;
    });
  }

  /**
   * A client checked that the blob exists (HEAD) and may reference it without uploading:
   * restart its grace window, at most once per `everyMs` so HEADs rarely write.
   */
  async touchBlob(digest: string, everyMs: number): Promise<void> {
    const now = Date.now();
    const stale = new Date(now - everyMs).toISOString();
    await this.db
      .updateTable("blobs")
      .set({ last_used_at: new Date(now).toISOString() })
      .where("digest", "=", digest)
      .where((eb) => eb(eb.fn.coalesce("last_used_at", "created_at"), "<", stale))
      .execute();
  }

  /** Removes the blob from the repository; the file stays until garbage collection. */
  async unlinkBlob(name: string, digest: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom("repository_blobs")
      .where("repository_id", "=", (eb) => eb.selectFrom("repositories").select("id").where("name", "=", name))
      .where("blob_id", "=", (eb) => eb.selectFrom("blobs").select("id").where("digest", "=", digest))
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Of `digests`, those not linked to the repository. */
  async missingBlobs(repositoryId: number, digests: string[], db: Db = this.db): Promise<string[]> {
    if (digests.length === 0) return [];
    const found = await db
      .selectFrom("blobs as b")
      .innerJoin("repository_blobs as rb", "rb.blob_id", "b.id")
      .select("b.digest")
      .where("rb.repository_id", "=", repositoryId)
      .where("b.digest", "in", digests)
      .execute();
    const have = new Set(found.map((r) => r.digest));
    return digests.filter((d) => !have.has(d));
  }

  /** Of `digests`, those with no manifest in the repository. */
  async missingManifests(repositoryId: number, digests: string[], db: Db = this.db): Promise<string[]> {
    if (digests.length === 0) return [];
    const found = await db.selectFrom("manifests").select("digest").where("repository_id", "=", repositoryId).where("digest", "in", digests).execute();
    const have = new Set(found.map((r) => r.digest));
    return digests.filter((d) => !have.has(d));
  }

  async getManifest(name: string, reference: string, byDigest: boolean): Promise<StoredManifest | undefined> {
    let q = this.db
      .selectFrom("manifests as m")
      .innerJoin("repositories as r", "r.id", "m.repository_id")
      .select(["m.digest", "m.media_type", "m.content", "m.size"])
      .where("r.name", "=", name);
    q = byDigest ? q.where("m.digest", "=", reference) : q.innerJoin("tags as t", "t.manifest_id", "m.id").where("t.name", "=", reference);
    const row = await q.executeTakeFirst();
    return row && { digest: row.digest, mediaType: row.media_type, content: row.content, size: row.size };
  }

  /**
   * Stores a manifest and (optionally) points a tag at it, in one transaction.
   * Returns the digests of referenced blobs or child manifests that are missing; nothing is written then.
   */
  async putManifest(repoName: string, m: NewManifest, tag: string | null): Promise<{ missingBlobs: string[]; missingManifests: string[] }> {
    // Serialisable across replicas: the blob checks and the references they allow are one
    // step with respect to GC's mark (docs/gc.md).
    return serializable(this.db, async (trx) => {
      const repoId = await this.ensureRepository(repoName, trx);
      const missingBlobs = await this.missingBlobs(repoId, m.blobDigests, trx);
      const missingManifests = await this.missingManifests(repoId, m.childDigests, trx);
      if (missingBlobs.length || missingManifests.length) {
        // Roll back the implicit repository creation too.
        throw new MissingReferences(missingBlobs, missingManifests);
      }
      await trx
        .insertInto("manifests")
        .values({
          repository_id: repoId,
          digest: m.digest,
          media_type: m.mediaType,
          content: m.content,
          size: m.size,
          subject_digest: m.subjectDigest,
          artifact_type: m.artifactType,
          last_used_at: nowIso(),
        })
        // A push of a manifest that is already there restarts its grace window (GC of untagged manifests).
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doUpdateSet({ last_used_at: nowIso() }))
        .execute();
      const manifest = await trx
        .selectFrom("manifests")
        .select("id")
        .where("repository_id", "=", repoId)
        .where("digest", "=", m.digest)
        .executeTakeFirstOrThrow();
      if (m.blobDigests.length) {
        await trx.updateTable("blobs").set({ last_used_at: nowIso() }).where("digest", "in", m.blobDigests).execute();
        await trx
          .insertInto("manifest_blobs")
          .columns(["manifest_id", "blob_id"])
          .expression((eb) =>
            eb
              .selectFrom("blobs")
              .select([sql.lit(manifest.id).as("manifest_id"), "id"])
              .where("digest", "in", m.blobDigests),
          )
          .onConflict((oc) => oc.columns(["manifest_id", "blob_id"]).doNothing())
          .execute();
      }
      for (const child of new Set(m.childDigests)) {
        await trx
          .insertInto("manifest_children")
          .values({ manifest_id: manifest.id, child_digest: child })
          .onConflict((oc) => oc.columns(["manifest_id", "child_digest"]).doNothing())
          .execute();
      }
      if (tag !== null) {
        await trx
          .insertInto("tags")
          .values({ repository_id: repoId, name: tag, manifest_id: manifest.id, updated_at: nowIso() })
          .onConflict((oc) => oc.columns(["repository_id", "name"]).doUpdateSet({ manifest_id: manifest.id, updated_at: nowIso() }))
          .execute();
      }
      return { missingBlobs: [], missingManifests: [] };
    }).catch((err) => {
      if (err instanceof MissingReferences) return { missingBlobs: err.blobs, missingManifests: err.manifests };
      throw err;
    });
  }

  /** Deletes a manifest and, by cascade, its tags and references. */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom("manifests")
      .where("repository_id", "=", (eb) => eb.selectFrom("repositories").select("id").where("name", "=", name))
      .where("digest", "=", digest)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom("tags")
      .where("repository_id", "=", (eb) => eb.selectFrom("repositories").select("id").where("name", "=", name))
      .where("name", "=", tag)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Tags in lexical order after `last`, at most `limit` (+1 to tell whether more follow). */
  async listTags(repositoryId: number, limit: number, last: string | undefined): Promise<string[]> {
    let q = this.db.selectFrom("tags").select("name").where("repository_id", "=", repositoryId).orderBy("name").limit(limit);
    if (last !== undefined) q = q.where("name", ">", last);
    return (await q.execute()).map((r) => r.name);
  }

  async listRepositories(limit: number, last: string | undefined): Promise<string[]> {
    let q = this.db.selectFrom("repositories").select("name").orderBy("name").limit(limit);
    if (last !== undefined) q = q.where("name", ">", last);
    return (await q.execute()).map((r) => r.name);
  }

  async referrers(repositoryId: number, subject: string, artifactType: string | undefined): Promise<ReferrerRow[]> {
    let q = this.db
      .selectFrom("manifests")
      .select(["digest", "media_type", "size", "artifact_type", "content"])
      .where("repository_id", "=", repositoryId)
      .where("subject_digest", "=", subject)
      .orderBy("id");
    if (artifactType !== undefined) q = q.where("artifact_type", "=", artifactType);
    return (await q.execute()).map((r) => ({
      digest: r.digest,
      mediaType: r.media_type,
      size: r.size,
      artifactType: r.artifact_type,
      content: r.content,
    }));
  }

  async createUpload(uuid: string, repositoryId: number): Promise<void> {
    await this.db.insertInto("uploads").values({ uuid, repository_id: repositoryId, byte_offset: 0, updated_at: nowIso() }).execute();
  }

  /** The upload session `uuid` if it belongs to repository `name`. */
  async getUpload(name: string, uuid: string): Promise<UploadRow | undefined> {
    const row = await this.db
      .selectFrom("uploads as u")
      .innerJoin("repositories as r", "r.id", "u.repository_id")
      .select(["u.uuid", "u.repository_id", "u.byte_offset"])
      .where("u.uuid", "=", uuid)
      .where("r.name", "=", name)
      .executeTakeFirst();
    return row && { uuid: row.uuid, repositoryId: row.repository_id, byteOffset: row.byte_offset };
  }

  async setUploadOffset(uuid: string, byteOffset: number): Promise<void> {
    await this.db.updateTable("uploads").set({ byte_offset: byteOffset, updated_at: nowIso() }).where("uuid", "=", uuid).execute();
  }

  async deleteUpload(uuid: string): Promise<void> {
    await this.db.deleteFrom("uploads").where("uuid", "=", uuid).execute();
  }

  async uploadIds(): Promise<string[]> {
    return (await this.db.selectFrom("uploads").select("uuid").execute()).map((r) => r.uuid);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}

class MissingReferences extends Error {
  constructor(
    readonly blobs: string[],
    readonly manifests: string[],
  ) {
    super("missing references");
  }
}
