// Reconciliation of what the node publishes (docs/routing.md): the route table against the
// components' desired and observed states, HAProxy against the table, the DNS server against
// the names the agent owns. Each difference is a drift, reported and repaired.
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { describeChanges } from "../dns/driver.ts";
import type { PlannedComponent } from "../controller/plan.ts";
import type { Publisher } from "../controller/publisher.ts";
import type { Drift } from "./drift.ts";

export interface PublishInput {
  def: ServiceDefinition;
  planned: PlannedComponent[];
  /** Components whose container ran when the pass looked. */
  running: Set<string>;
}

type Run = <T>(service: string, fn: () => Promise<T>) => Promise<T>;

/** Rows of running components that have none (a node that just got [proxy]), none for components stopped on purpose. */
async function tableDrift(p: Publisher, inputs: PublishInput[], lock: Run): Promise<Drift[]> {
  const routes = p.d.routes!;
  const out: Drift[] = [];
  for (const i of inputs) {
    await lock(i.def.name, async () => {
      // Read under the service's lock: a Stop that just ran has withdrawn the rows and set desired.
      const rows = await p.d.routing.routes(i.def.name);
      const stored = await p.d.store.components(i.def.name);
      for (const c of i.planned) {
        const has = rows.some((r) => r.component === c.component);
        const desired = stored.find((s) => s.name === c.component)?.desired;
        let kind: Drift["kind"] | undefined;
        let rowsNow = rows.filter((r) => r.component === c.component);
        if (has && desired === "stopped") {
          kind = "route_withdrawn";
          rowsNow = [];
        } else if (!has && desired === "running" && i.running.has(c.component)) {
          rowsNow = routes.rowsFor(i.def, c);
          if (rowsNow.length) kind = "route_missing";
        }
        if (!kind) continue;
        const d: Drift = { service: i.def.name, component: c.component, container: c.container, kind, action: "repaired", message: "" };
        try {
          await routes.setRoutes(i.def.name, [c.component], rowsNow);
          d.message =
            kind === "route_missing"
              ? `${c.container} runs but had no routes; added ${rowsNow.map((r) => `${r.hostname}:${r.port}`).join(", ")}`
              : `${c.container} is stopped on purpose but was still routed; routes withdrawn`;
        } catch (err) {
          d.action = "repair_failed";
          d.message = `${c.container}: ${kind.replace("_", " ")}; repair failed: ${(err as Error).message}`;
        }
        await p.d.store.event(d.service, d.component, `drift_${kind}`, d.message);
        out.push(d);
      }
    });
  }
  return out;
}

export async function reconcilePublished(p: Publisher, inputs: PublishInput[], lock: Run): Promise<Drift[]> {
  const drifts: Drift[] = [];
  const { routes, dns, routing, store } = p.d;
  if (routes) {
    drifts.push(...(await tableDrift(p, inputs, lock)));
    const d: Drift = { service: "", component: "", container: "", kind: "proxy_out_of_sync", action: "repaired", message: "" };
    try {
      const did = await routes.apply();
      if (did) drifts.push({ ...d, message: `HAProxy did not have the route table: ${did}` });
    } catch (err) {
      // A server that does not answer is drift too: the table waits for it.
      drifts.push({ ...d, action: "repair_failed", message: `HAProxy does not have the route table and could not be given it: ${(err as Error).message}` });
    }
    const last = drifts.at(-1);
    if (last?.kind === "proxy_out_of_sync") {
      for (const service of new Set((await routing.routes()).map((r) => r.service))) await store.event(service, "", "drift_proxy_out_of_sync", last.message);
    }
  }
  if (dns) {
    // A deployed service without names (a node that just got [dns]) gets them.
    const owned = new Set((await routing.dnsNames()).map((n) => n.service));
    for (const i of inputs) if (!owned.has(i.def.name)) await routing.setServiceNames(i.def.name, dns.namesOf(i.def));
    const d: Drift = { service: "", component: "", container: "", kind: "dns_out_of_sync", action: "repaired", message: "" };
    try {
      const changes = await dns.sync();
      if (changes.length) {
        drifts.push({ ...d, message: `DNS records differed from the agent's: ${describeChanges(changes)}` });
        const names = new Set(changes.map((c) => (c.action === "replace" ? c.set.name : c.name)));
        const services = new Set((await routing.dnsNames()).filter((n) => names.has(n.name)).map((n) => n.service));
        for (const service of services) await store.event(service, "", "drift_dns_out_of_sync", drifts.at(-1)!.message);
      }
    } catch (err) {
      drifts.push({ ...d, action: "repair_failed", message: `DNS records could not be checked or written: ${(err as Error).message}` });
    }
  }
  return drifts;
}
