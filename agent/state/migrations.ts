// The agent's schema, supplied in code.
import { randomBytes } from "node:crypto";
import type { Kysely, Migration, MigrationProvider } from "kysely";

const migrations: Record<string, Migration> = {
  "0001_agent_state": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("services")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("definition", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("active", "integer", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("components")
        .addColumn("service", "text", (c) => c.notNull().references("services.name").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("desired", "text", (c) => c.notNull())
        .addColumn("spec_hash", "text", (c) => c.notNull())
        .addColumn("image", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("components_pk", ["service", "name"])
        .execute();
      await db.schema
        .createTable("ports")
        .addColumn("host_port", "integer", (c) => c.primaryKey())
        .addColumn("service", "text", (c) => c.notNull().references("services.name").onDelete("cascade"))
        .addColumn("component", "text", (c) => c.notNull())
        .addColumn("route", "text", (c) => c.notNull())
        .addUniqueConstraint("ports_route", ["service", "component", "route"])
        .execute();
      await db.schema
        .createTable("events")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("component", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_service").on("events").columns(["service", "id"]).execute();
    },
  },
  "0002_machine_registry": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("machine_registry")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("number", "integer", (c) => c.notNull().unique())
        .execute();
    },
  },
  "0003_routes_and_dns": {
    async up(db: Kysely<unknown>) {
      // What HAProxy should route (docs/routing.md): rows of running components only.
      await db.schema
        .createTable("routes")
        .addColumn("service", "text", (c) => c.notNull().references("services.name").onDelete("cascade"))
        .addColumn("component", "text", (c) => c.notNull())
        .addColumn("route", "text", (c) => c.notNull())
        .addColumn("hostname", "text", (c) => c.notNull())
        .addColumn("port", "integer", (c) => c.notNull())
        .addColumn("mode", "text", (c) => c.notNull())
        .addColumn("target_host", "text", (c) => c.notNull())
        .addColumn("target_port", "integer", (c) => c.notNull())
        .addColumn("cert", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("routes_pk", ["service", "component", "route"])
        // Two services may not claim the same hostname and port.
        .addUniqueConstraint("routes_external", ["hostname", "port"])
        .execute();
      // DNS names the agent owns, per service (two services may share a hostname on different
      // ports); present = 0 marks a name whose records must still be deleted from the server
      // (the service is gone), so no FK to services.
      await db.schema
        .createTable("dns_names")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("present", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("dns_names_pk", ["name", "service"])
        .execute();
    },
  },
  "0004_agent_identity": {
    async up(db: Kysely<unknown>) {
      // The agent's identity, labelled on every container it makes (docs/agent.md, "Whose
      // containers"). Made once, by `mcp-agent init` or by an older agent's first start.
      await db.schema
        .createTable("agent_identity")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await (db as Kysely<{ agent_identity: { id: string; created_at: string } }>)
        .insertInto("agent_identity")
        .values({ id: randomBytes(6).toString("hex"), created_at: new Date().toISOString() })
        .execute();
    },
  },
  "0005_releases": {
    async up(db: Kysely<unknown>) {
      // Every deploy of a service is a release (agent/state/releases.ts): no FK to services,
      // so that a service's history outlives a `remove` until the service is deployed again.
      await db.schema
        .createTable("releases")
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("definition", "text", (c) => c.notNull())
        .addColumn("images", "text", (c) => c.notNull())
        .addColumn("result", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("rollback_of", "integer")
        .addPrimaryKeyConstraint("releases_pk", ["service", "number"])
        .execute();
    },
  },
};

export const agentMigrations: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
