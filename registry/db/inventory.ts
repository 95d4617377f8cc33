// What the registry holds, for the admin API: repositories with their counts and sizes,
// a repository's tags and manifests with the blobs they reference, and deleting a
// repository. Blob rows and files are never touched here: garbage collection frees them.
import { sql, type Kysely } from "kysely";
import { serializable } from "./dialect.ts";
import type { RegistryDatabase } from "./schema.ts";

export interface RepositoryInfo {
  id: number;
  name: string;
  createdAt: string;
  tagCount: number;
  manifestCount: number;
  totalSize: number;
  pushedAt: string;
}

export interface BlobInfo {
  digest: string;
  size: number;
  mediaType: string;
  role: "config" | "layer";
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
  createdAt: string;
  tags: string[];
  blobs: BlobInfo[];
  blobsSize: number;
  childDigests: string[];
  subjectDigest: string;
  artifactType: string;
  content: Buffer;
}

export interface TagInfo {
  name: string;
  digest: string;
  updatedAt: string;
}

export class Inventory {
  constructor(private readonly db: Kysely<RegistryDatabase>) {}

  /** Repositories named after `after`, by name, at most `limit`. */
  async repositories(limit: number, after = "", name?: string): Promise<RepositoryInfo[]> {
    let q = this.db
      .selectFrom("repositories as r")
      .select(["r.id", "r.name", "r.created_at"])
      .select(sql<number>`(select count(*) from tags t where t.repository_id = r.id)`.as("tag_count"))
      .select(sql<number>`(select count(*) from manifests m where m.repository_id = r.id)`.as("manifest_count"))
      .select(sql<number>`(select coalesce(sum(m.size), 0) from manifests m where m.repository_id = r.id)`.as("manifest_bytes"))
      .select(
        sql<number>`(select coalesce(sum(b.size), 0) from blobs b where b.id in (select mb.blob_id from manifest_blobs mb join manifests m on m.id = mb.manifest_id where m.repository_id = r.id))`.as(
          "blob_bytes",
        ),
      )
      .select(sql<string | null>`(select max(coalesce(m.last_used_at, m.created_at)) from manifests m where m.repository_id = r.id)`.as("pushed_at"))
      .orderBy("r.name")
      .limit(limit);
    q = name !== undefined ? q.where("r.name", "=", name) : q.where("r.name", ">", after);
    return (await q.execute()).map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
      tagCount: Number(r.tag_count),
      manifestCount: Number(r.manifest_count),
      totalSize: Number(r.manifest_bytes) + Number(r.blob_bytes),
      pushedAt: r.pushed_at ?? "",
    }));
  }

  async repository(name: string): Promise<RepositoryInfo | undefined> {
    return (await this.repositories(1, "", name))[0];
  }

  async tags(repositoryId: number): Promise<TagInfo[]> {
    const rows = await this.db
      .selectFrom("tags as t")
      .innerJoin("manifests as m", "m.id", "t.manifest_id")
      .select(["t.name", "m.digest", "t.updated_at"])
      .where("t.repository_id", "=", repositoryId)
      .orderBy("t.name")
      .execute();
    return rows.map((r) => ({ name: r.name, digest: r.digest, updatedAt: r.updated_at }));
  }

  /** The repository's manifests, newest first; with `digest`, only that one. */
  async manifests(repositoryId: number, digest?: string): Promise<ManifestInfo[]> {
    let q = this.db
      .selectFrom("manifests")
      .select(["id", "digest", "media_type", "size", "created_at", "subject_digest", "artifact_type", "content"])
      .where("repository_id", "=", repositoryId)
      .orderBy("id", "desc");
    if (digest !== undefined) q = q.where("digest", "=", digest);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const tags = await this.db.selectFrom("tags").select(["manifest_id", "name"]).where("repository_id", "=", repositoryId).orderBy("name").execute();
    const sizes = await this.db
      .selectFrom("manifest_blobs as mb")
      .innerJoin("blobs as b", "b.id", "mb.blob_id")
      .select(["b.digest", "b.size"])
      .where("mb.manifest_id", "in", ids)
      .execute();
    const sizeOf = new Map(sizes.map((s) => [s.digest, s.size]));
    const children = await this.db.selectFrom("manifest_children").select(["manifest_id", "child_digest"]).where("manifest_id", "in", ids).execute();
    return rows.map((r) => {
      const blobs = blobRefs(r.content).map((b) => ({ ...b, size: sizeOf.get(b.digest) ?? b.size }));
      return {
        digest: r.digest,
        mediaType: r.media_type,
        size: r.size,
        createdAt: r.created_at,
        tags: tags.filter((t) => t.manifest_id === r.id).map((t) => t.name),
        blobs,
        blobsSize: blobs.reduce((n, b) => n + b.size, 0),
        childDigests: children.filter((c) => c.manifest_id === r.id).map((c) => c.child_digest),
        subjectDigest: r.subject_digest ?? "",
        artifactType: r.artifact_type ?? "",
        content: r.content,
      };
    });
  }

  /** The digest a tag points at in the repository. */
  async tagDigest(repositoryId: number, tag: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("tags as t")
      .innerJoin("manifests as m", "m.id", "t.manifest_id")
      .select("m.digest")
      .where("t.repository_id", "=", repositoryId)
      .where("t.name", "=", tag)
      .executeTakeFirst();
    return row?.digest;
  }

  /**
   * Deletes the repository and, by cascade, its manifests, tags, references, blob links and
   * upload sessions, in one transaction. Returns the counts and the upload ids (whose files
   * the caller removes), or undefined when there is no such repository.
   */
  async deleteRepository(name: string): Promise<{ manifests: number; tags: number; uploads: string[] } | undefined> {
    return serializable(this.db, async (trx) => {
      const repo = await trx.selectFrom("repositories").select("id").where("name", "=", name).executeTakeFirst();
      if (!repo) return undefined;
      const count = async (table: "manifests" | "tags") =>
        Number(
          (
            await trx
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .where("repository_id", "=", repo.id)
              .executeTakeFirstOrThrow()
          ).n,
        );
      const manifests = await count("manifests");
      const tags = await count("tags");
      const uploads = (await trx.selectFrom("uploads").select("uuid").where("repository_id", "=", repo.id).execute()).map((u) => u.uuid);
      // Children first: tags point at manifests, which other manifests' rows do not restrict.
      await trx.deleteFrom("tags").where("repository_id", "=", repo.id).execute();
      await trx.deleteFrom("manifests").where("repository_id", "=", repo.id).execute();
      await trx.deleteFrom("repositories").where("id", "=", repo.id).execute();
      return { manifests, tags, uploads };
    });
  }
}

/** Config and layers of an image manifest as its JSON lists them (an index has none). */
export function blobRefs(content: Buffer): BlobInfo[] {
  type D = { digest?: unknown; size?: unknown; mediaType?: unknown };
  let doc: { config?: D; layers?: D[] };
  try {
    doc = JSON.parse(content.toString("utf8")) as typeof doc;
  } catch {
    return [];
  }
  const ref = (d: D | undefined, role: BlobInfo["role"]): BlobInfo[] =>
    d && typeof d.digest === "string"
      ? [{ digest: d.digest, size: typeof d.size === "number" ? d.size : 0, mediaType: typeof d.mediaType === "string" ? d.mediaType : "", role }]
      : [];
  return [...ref(doc.config, "config"), ...(Array.isArray(doc.layers) ? doc.layers.flatMap((l) => ref(l, "layer")) : [])];
}
