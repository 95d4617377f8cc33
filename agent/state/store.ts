// Reads and writes the node's desired state. Only this module writes SQL for the agent.
import type { Kysely } from "kysely";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import type { AgentDatabase } from "./schema.ts";

export type DesiredState = "running" | "stopped";

export interface StoredComponent {
  service: string;
  name: string;
  desired: DesiredState;
  specHash: string;
  image: string;
}

export interface PortAssignment {
  hostPort: number;
  service: string;
  component: string;
  route: string;
}

export interface AgentEventRecord {
  time: string;
  service: string;
  component: string;
  kind: string;
  message: string;
}

/** A stored definition that no longer validates (an older agent's rules, or a row changed by hand). */
export class StoredDefinitionError extends Error {
  override name = "StoredDefinitionError";
}

/** A row's definition, validated again as it leaves the database: the rules may have changed since it was stored. */
function storedDefinition(service: string, json: string): ServiceDefinition {
  let def: ServiceDefinition;
  try {
    def = validateDefinition(JSON.parse(json));
  } catch (err) {
    throw new StoredDefinitionError(`the stored definition of service ${service} is not valid (sync its definition again): ${(err as Error).message}`);
  }
  if (def.name !== service) throw new StoredDefinitionError(`the stored definition of service ${service} names another service, ${def.name}`);
  return def;
}

const now = () => new Date().toISOString();
const EVENTS_KEPT_PER_SERVICE = 500;

export class StateStore {
  constructor(readonly db: Kysely<AgentDatabase>) {}

  /** This agent's id (made by the migration that added it): the mcp.agent label of its containers. */
  async agentId(): Promise<string> {
    const row = await this.db.selectFrom("agent_identity").select("id").executeTakeFirst();
    if (!row)
      throw new Error("the agent's state database has no agent_identity row; it is made by the database's migrations, so the database was changed by hand");
    return row.id;
  }

  /** Stores a definition; returns whether it was new, changed or the same. Components are added with desired=running. */
  async putDefinition(def: ServiceDefinition): Promise<"created" | "updated" | "unchanged"> {
    const json = JSON.stringify(def);
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom("services").select("definition").where("name", "=", def.name).executeTakeFirst();
      if (existing?.definition === json) return "unchanged";
      const row = { definition: json, version: def.version, active: def.active ? 1 : 0, updated_at: now() };
      if (existing) await trx.updateTable("services").set(row).where("name", "=", def.name).execute();
      else
        await trx
          .insertInto("services")
          .values({ name: def.name, ...row })
          .execute();
      // Components that left the definition stay until a deploy removes their containers.
      for (const c of def.components) {
        await trx
          .insertInto("components")
          .values({ service: def.name, name: c.name, desired: "running", spec_hash: "", image: "" })
          .onConflict((oc) => oc.columns(["service", "name"]).doNothing())
          .execute();
      }
      return existing ? "updated" : "created";
    });
  }

  async definition(service: string): Promise<ServiceDefinition | undefined> {
    const row = await this.db.selectFrom("services").select(["name", "definition"]).where("name", "=", service).executeTakeFirst();
    return row && storedDefinition(row.name, row.definition);
  }

  async definitions(): Promise<ServiceDefinition[]> {
    const rows = await this.db.selectFrom("services").select(["name", "definition"]).orderBy("name").execute();
    return rows.map((r) => storedDefinition(r.name, r.definition));
  }

  async components(service?: string): Promise<StoredComponent[]> {
    let q = this.db.selectFrom("components").selectAll().orderBy("service").orderBy("name");
    if (service !== undefined) q = q.where("service", "=", service);
    return (await q.execute()).map((r) => ({ service: r.service, name: r.name, desired: r.desired as DesiredState, specHash: r.spec_hash, image: r.image }));
  }

  async recordDeployed(service: string, component: string, specHash: string, image: string): Promise<void> {
    await this.db
      .insertInto("components")
      .values({ service, name: component, desired: "running", spec_hash: specHash, image })
      .onConflict((oc) => oc.columns(["service", "name"]).doUpdateSet({ desired: "running", spec_hash: specHash, image }))
      .execute();
  }

  async setDesired(service: string, component: string | undefined, desired: DesiredState): Promise<void> {
    let q = this.db.updateTable("components").set({ desired }).where("service", "=", service);
    if (component) q = q.where("name", "=", component);
    await q.execute();
  }

  /** Drops components that are no longer in the definition, with their ports. */
  async dropComponents(service: string, keep: string[]): Promise<string[]> {
    const gone = (await this.components(service)).map((c) => c.name).filter((n) => !keep.includes(n));
    if (gone.length) {
      await this.db.deleteFrom("components").where("service", "=", service).where("name", "in", gone).execute();
      await this.db.deleteFrom("ports").where("service", "=", service).where("component", "in", gone).execute();
    }
    return gone;
  }

  async removeService(service: string): Promise<void> {
    await this.db.deleteFrom("services").where("name", "=", service).execute(); // components and ports cascade
  }

  async ports(service?: string): Promise<PortAssignment[]> {
    let q = this.db.selectFrom("ports").selectAll().orderBy("host_port");
    if (service !== undefined) q = q.where("service", "=", service);
    return (await q.execute()).map((r) => ({ hostPort: r.host_port, service: r.service, component: r.component, route: r.route }));
  }

  async assignPort(a: PortAssignment): Promise<void> {
    await this.db.insertInto("ports").values({ host_port: a.hostPort, service: a.service, component: a.component, route: a.route }).execute();
  }

  async releasePorts(service: string, component: string, keepRoutes: string[]): Promise<void> {
    let q = this.db.deleteFrom("ports").where("service", "=", service).where("component", "=", component);
    if (keepRoutes.length) q = q.where("route", "not in", keepRoutes);
    await q.execute();
  }

  async machineRegistry(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom("machine_registry").selectAll().orderBy("number").execute();
    return new Map(rows.map((r) => [r.name, r.number]));
  }

  /** Replaces the registry with the console's (Sync). */
  async replaceMachineRegistry(registry: Map<string, number>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("machine_registry").execute();
      for (const [name, number] of registry) await trx.insertInto("machine_registry").values({ name, number }).execute();
    });
  }

  async registerMachine(name: string, number: number): Promise<void> {
    await this.db
      .insertInto("machine_registry")
      .values({ name, number })
      .onConflict((oc) => oc.column("name").doUpdateSet({ number }))
      .execute();
  }

  /** Replaces a service's port assignments (SMEP ports are computed, not allocated). */
  async setPorts(service: string, ports: PortAssignment[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("ports").where("service", "=", service).execute();
      for (const a of ports)
        await trx.insertInto("ports").values({ host_port: a.hostPort, service: a.service, component: a.component, route: a.route }).execute();
    });
  }

  async event(service: string, component: string, kind: string, message: string): Promise<void> {
    await this.db.insertInto("events").values({ time: now(), service, component, kind, message }).execute();
    // Keep the table small: only the newest events of each service.
    await this.db
      .deleteFrom("events")
      .where("service", "=", service)
      .where("id", "<=", (eb) =>
        eb.selectFrom("events").select("id").where("service", "=", service).orderBy("id", "desc").offset(EVENTS_KEPT_PER_SERVICE).limit(1),
      )
      .execute();
  }

  async recentEvents(service: string, limit = 20): Promise<AgentEventRecord[]> {
    const rows = await this.db.selectFrom("events").selectAll().where("service", "=", service).orderBy("id", "desc").limit(limit).execute();
    return rows.map((r) => ({ time: r.time, service: r.service, component: r.component, kind: r.kind, message: r.message }));
  }
}
