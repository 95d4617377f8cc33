// Schema migrations, supplied in code (no directory scan), applied in name order.
import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

const migrations: Record<string, Migration> = {
  "0001_registry_core": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("repositories")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("blobs")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("digest", "text", (c) => c.notNull().unique())
        .addColumn("size", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("repository_blobs")
        .addColumn("repository_id", "integer", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("blob_id", "integer", (c) => c.notNull().references("blobs.id").onDelete("cascade"))
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint("repository_blobs_pk", ["repository_id", "blob_id"])
        .execute();
      await db.schema.createIndex("repository_blobs_blob").on("repository_blobs").column("blob_id").execute();
      await db.schema
        .createTable("manifests")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("repository_id", "integer", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("media_type", "text", (c) => c.notNull())
        .addColumn("content", "blob", (c) => c.notNull())
        .addColumn("size", "integer", (c) => c.notNull())
        .addColumn("subject_digest", "text")
        .addColumn("artifact_type", "text")
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint("manifests_repo_digest", ["repository_id", "digest"])
        .execute();
      await db.schema.createIndex("manifests_subject").on("manifests").columns(["repository_id", "subject_digest"]).execute();
      await db.schema
        .createTable("tags")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("repository_id", "integer", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("manifest_id", "integer", (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addUniqueConstraint("tags_repo_name", ["repository_id", "name"])
        .execute();
      await db.schema.createIndex("tags_manifest").on("tags").column("manifest_id").execute();
      await db.schema
        .createTable("manifest_blobs")
        .addColumn("manifest_id", "integer", (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        // restrict: a blob row cannot go while a manifest still references it (GC relies on this).
        .addColumn("blob_id", "integer", (c) => c.notNull().references("blobs.id").onDelete("restrict"))
        .addPrimaryKeyConstraint("manifest_blobs_pk", ["manifest_id", "blob_id"])
        .execute();
      await db.schema.createIndex("manifest_blobs_blob").on("manifest_blobs").column("blob_id").execute();
      await db.schema
        .createTable("manifest_children")
        .addColumn("manifest_id", "integer", (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        .addColumn("child_digest", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("manifest_children_pk", ["manifest_id", "child_digest"])
        .execute();
      await db.schema
        .createTable("uploads")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("repository_id", "integer", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("byte_offset", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  },
};

export const registryMigrations: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
