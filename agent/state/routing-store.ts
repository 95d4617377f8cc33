// The route table and the DNS names the agent owns, in the agent's SQLite database.
import type { Kysely } from "kysely";
import type { RouteEntry } from "../routes/table.ts";
import type { AgentDatabase, RoutesTable } from "./schema.ts";

export interface DnsName {
  name: string;
  service: string;
  /** false: the records must be deleted from the server (the service or hostname is gone). */
  present: boolean;
}

const toEntry = (r: RoutesTable): RouteEntry => ({
  service: r.service,
  component: r.component,
  route: r.route,
  hostname: r.hostname,
  port: r.port,
  mode: r.mode === "l7" ? "l7" : "l4",
  targetHost: r.target_host,
  targetPort: r.target_port,
  cert: r.cert,
});

const toRow = (e: RouteEntry): RoutesTable => ({
  service: e.service,
  component: e.component,
  route: e.route,
  hostname: e.hostname,
  port: e.port,
  mode: e.mode,
  target_host: e.targetHost,
  target_port: e.targetPort,
  cert: e.cert,
});

export class RoutingStore {
  constructor(private readonly db: Kysely<AgentDatabase>) {}

  async routes(service?: string): Promise<RouteEntry[]> {
    let q = this.db.selectFrom("routes").selectAll().orderBy("port").orderBy("service").orderBy("component").orderBy("route");
    if (service !== undefined) q = q.where("service", "=", service);
    return (await q.execute()).map(toEntry);
  }

  /** Replaces the rows of some components of a service at once (the unique hostname:port constraint holds throughout). */
  async replaceRoutes(service: string, components: string[], rows: RouteEntry[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (components.length) await trx.deleteFrom("routes").where("service", "=", service).where("component", "in", components).execute();
      for (const r of rows) await trx.insertInto("routes").values(toRow(r)).execute();
    });
  }

  async dnsNames(service?: string): Promise<DnsName[]> {
    let q = this.db.selectFrom("dns_names").selectAll().orderBy("name");
    if (service !== undefined) q = q.where("service", "=", service);
    return (await q.execute()).map((r) => ({ name: r.name, service: r.service, present: r.present === 1 }));
  }

  /** The service's names become exactly `names`; its other names are marked for deletion. */
  async setServiceNames(service: string, names: string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      let gone = trx.updateTable("dns_names").set({ present: 0 }).where("service", "=", service);
      if (names.length) gone = gone.where("name", "not in", names);
      await gone.execute();
      for (const name of names) {
        await trx
          .insertInto("dns_names")
          .values({ name, service, present: 1 })
          .onConflict((oc) => oc.columns(["name", "service"]).doUpdateSet({ present: 1 }))
          .execute();
      }
    });
  }

  /** Forgets the withdrawn rows of names whose records are gone from the server (or still wanted by another service). */
  async dropWithdrawn(names: string[]): Promise<void> {
    if (names.length) await this.db.deleteFrom("dns_names").where("name", "in", names).where("present", "=", 0).execute();
  }
}
