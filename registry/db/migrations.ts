// Schema migrations, supplied in code (no directory scan), applied in name order, on SQLite
// and on PostgreSQL alike. Column types come from dialect.ts: on SQLite they are the types
// these migrations always wrote, so databases made before PostgreSQL support match new ones.
import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { columnTypes } from "./dialect.ts";

const migrations: Record<string, Migration> = {
  "0001_registry_core": {
    async up(db: Kysely<unknown>) {
      const t = columnTypes(db);
      const now = t.now;
      await db.schema
        .createTable("repositories")
        .addColumn("id", ...t.id)
        .addColumn("name", t.name, (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("blobs")
        .addColumn("id", ...t.id)
        .addColumn("digest", "text", (c) => c.notNull().unique())
        .addColumn("size", t.bigint, (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("repository_blobs")
        .addColumn("repository_id", t.ref, (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("blob_id", t.ref, (c) => c.notNull().references("blobs.id").onDelete("cascade"))
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint("repository_blobs_pk", ["repository_id", "blob_id"])
        .execute();
      await db.schema.createIndex("repository_blobs_blob").on("repository_blobs").column("blob_id").execute();
      await db.schema
        .createTable("manifests")
        .addColumn("id", ...t.id)
        .addColumn("repository_id", t.ref, (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("media_type", "text", (c) => c.notNull())
        .addColumn("content", t.bytes, (c) => c.notNull())
        .addColumn("size", t.bigint, (c) => c.notNull())
        .addColumn("subject_digest", "text")
        .addColumn("artifact_type", "text")
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint("manifests_repo_digest", ["repository_id", "digest"])
        .execute();
      await db.schema.createIndex("manifests_subject").on("manifests").columns(["repository_id", "subject_digest"]).execute();
      await db.schema
        .createTable("tags")
        .addColumn("id", ...t.id)
        .addColumn("repository_id", t.ref, (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("name", t.name, (c) => c.notNull())
        .addColumn("manifest_id", t.ref, (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addUniqueConstraint("tags_repo_name", ["repository_id", "name"])
        .execute();
      await db.schema.createIndex("tags_manifest").on("tags").column("manifest_id").execute();
      await db.schema
        .createTable("manifest_blobs")
        .addColumn("manifest_id", t.ref, (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        // restrict: a blob row cannot go while a manifest still references it (GC relies on this).
        .addColumn("blob_id", t.ref, (c) => c.notNull().references("blobs.id").onDelete("restrict"))
        .addPrimaryKeyConstraint("manifest_blobs_pk", ["manifest_id", "blob_id"])
        .execute();
      await db.schema.createIndex("manifest_blobs_blob").on("manifest_blobs").column("blob_id").execute();
      await db.schema
        .createTable("manifest_children")
        .addColumn("manifest_id", t.ref, (c) => c.notNull().references("manifests.id").onDelete("cascade"))
        .addColumn("child_digest", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("manifest_children_pk", ["manifest_id", "child_digest"])
        .execute();
      await db.schema
        .createTable("uploads")
        .addColumn("id", ...t.id)
        .addColumn("uuid", "text", (c) => c.notNull().unique())
        .addColumn("repository_id", t.ref, (c) => c.notNull().references("repositories.id").onDelete("cascade"))
        .addColumn("byte_offset", t.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0002_identity_policy_audit": {
    async up(db: Kysely<unknown>) {
      const t = columnTypes(db);
      const now = t.now;
      await db.schema
        .createTable("accounts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("username", t.name, (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("account_type", "text", (c) => c.notNull().check(sql`account_type in ('human', 'system')`))
        .addColumn("roles", "text", (c) => c.notNull())
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addColumn("updated_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
        .addColumn("service_name", "text", (c) => c.notNull())
        .addColumn("tags", "text", (c) => c.notNull())
        .addColumn("issued_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema.createIndex("tokens_account").on("tokens").column("account_id").execute();
      await db.schema
        .createTable("policy_rules")
        .addColumn("id", ...t.id)
        .addColumn("priority", "integer", (c) => c.notNull().check(sql`priority >= 1`))
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("rule_json", "text", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("created_by", "text")
        .addColumn("created_at", "text", (c) => c.notNull().defaultTo(now))
        .addColumn("updated_at", "text", (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable("audit_log")
        .addColumn("id", ...t.id)
        .addColumn("event_time", "text", (c) => c.notNull())
        .addColumn("event_type", "text", (c) => c.notNull())
        .addColumn("actor_id", "text")
        .addColumn("repository", "text")
        .addColumn("digest", "text")
        .addColumn("ip_address", "text")
        .addColumn("details", "text")
        .execute();
      await db.schema.createIndex("audit_time").on("audit_log").column("event_time").execute();
      await db.schema.createIndex("audit_type").on("audit_log").columns(["event_type", "event_time"]).execute();
      await db.schema.createIndex("audit_actor").on("audit_log").columns(["actor_id", "event_time"]).execute();
      await db.schema.createIndex("audit_repo").on("audit_log").columns(["repository", "event_time"]).execute();
    },
  },
  // Garbage collection's grace window counts from a blob's (or manifest's) last upload, mount
  // or reference. SQLite cannot add a column with a computed default: NULL means created_at.
  "0003_gc_last_used": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("blobs").addColumn("last_used_at", "text").execute();
      await db.schema.alterTable("manifests").addColumn("last_used_at", "text").execute();
      await db.schema.createIndex("manifest_children_child").on("manifest_children").column("child_digest").execute();
    },
  },
  // Pull tokens (registry/auth/pull-tokens.ts): one repository, read-only, about a minute.
  // The caller's claims are kept with the grant, since with an external identity server
  // the account is not in this database. Text columns only: the same on both dialects.
  "0004_pull_tokens": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("pull_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("account_id", "text", (c) => c.notNull())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("account_type", "text", (c) => c.notNull())
        .addColumn("roles", "text", (c) => c.notNull())
        .addColumn("issued_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("pull_tokens_expiry").on("pull_tokens").column("expires_at").execute();
    },
  },
  // The platform's nodes (registry/nodes/): registered with a one-time join token (kept as a
  // hash), joined with a system account and a certificate from the node signer. node_certs
  // keeps every certificate issued, so a removed node's are refused until they expire.
  "0005_nodes": {
    async up(db: Kysely<unknown>) {
      const t = columnTypes(db);
      await db.schema
        .createTable("nodes")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("hostnames", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("account_id", "text")
        .addColumn("policy_rule_id", t.bigint)
        .addColumn("join_secret_hash", "text", (c) => c.unique())
        .addColumn("token_expires_at", "text")
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("joined_at", "text")
        .execute();
      await db.schema
        .createTable("node_certs")
        .addColumn("serial", "text", (c) => c.primaryKey())
        .addColumn("node", "text", (c) => c.notNull())
        .addColumn("issued_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema.createIndex("node_certs_node").on("node_certs").columns(["node", "issued_at"]).execute();
    },
  },
  // Failed logins of the last minute (registry/identity/rate-limit.ts), in the database so that
  // replicas count them together. A row per failure and key; the key is a hash, the time in ms.
  "0006_login_failures": {
    async up(db: Kysely<unknown>) {
      const t = columnTypes(db);
      await db.schema
        .createTable("login_failures")
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("failed_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("login_failures_key").on("login_failures").columns(["key", "failed_at"]).execute();
      await db.schema.createIndex("login_failures_time").on("login_failures").column("failed_at").execute();
    },
  },
};

export const registryMigrations: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
