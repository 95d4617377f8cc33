// The route table: what the proxy should do for each route of a running
// component (docs/routing.md: hostname → 127.0.0.1:<port>, mode, certificate).
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { PlannedComponent } from "../controller/plan.ts";
import { routeKey } from "../controller/plan.ts";

export interface RouteEntry {
  service: string;
  component: string;
  /** The route's key: its name, or "default". */
  route: string;
  hostname: string;
  /** External port on the proxy (443, 8443, …). */
  port: number;
  /** l4: TLS passed through by SNI; l7: TLS terminated by the proxy, HTTP to the container. */
  mode: "l4" | "l7";
  targetHost: string;
  /** The component's host port for this route. */
  targetPort: number;
  /** l7: the PEM (certificate chain and key) the proxy terminates with; l4: "". */
  cert: string;
}

export interface TableContext {
  /** Services are named <service>.svc.<zone>. */
  zone: string;
  /** Where containers publish their ports ([runtime] publish_address). */
  publishAddress: string;
  /** l7 certificate path with {service} and {hostname} placeholders. */
  certPath: string;
}

export class RouteError extends Error {
  override name = "RouteError";
}

/** The default hostname of a service. */
export const serviceHostname = (service: string, zone: string) => `${service}.svc.${zone}`;

/** Where the proxy reaches a published port: a wildcard publish address is reached on loopback. */
export function targetHost(publishAddress: string): string {
  if (publishAddress === "" || publishAddress === "0.0.0.0") return "127.0.0.1";
  if (publishAddress === "::") return "::1";
  return publishAddress;
}

export function certFor(template: string, service: string, hostname: string): string {
  return template.replaceAll("{service}", service).replaceAll("{hostname}", hostname);
}

/** The table rows of one planned component. */
export function routesFor(def: ServiceDefinition, p: PlannedComponent, ctx: TableContext): RouteEntry[] {
  const c = def.components.find((x) => x.name === p.component);
  if (!c) return [];
  return c.routes.map((r) => {
    const route = routeKey(r.name);
    const assigned = p.ports.find((x) => x.route === route);
    if (!assigned) throw new RouteError(`${def.name}/${c.name}: route ${route} has no port assigned`);
    const hostname = r.hostname || serviceHostname(def.name, ctx.zone);
    return {
      service: def.name,
      component: c.name,
      route,
      hostname,
      port: r.port,
      mode: r.mode,
      targetHost: targetHost(ctx.publishAddress),
      targetPort: assigned.hostPort,
      cert: r.mode === "l7" ? certFor(ctx.certPath, def.name, hostname) : "",
    };
  });
}

/** The table with `service`'s rows for `components` replaced by `rows`. */
export function withComponents(table: RouteEntry[], service: string, components: string[], rows: RouteEntry[]): RouteEntry[] {
  return [...table.filter((e) => !(e.service === service && components.includes(e.component))), ...rows];
}

/** Refuses a table in which two routes claim the same hostname and port. */
export function checkConflicts(table: RouteEntry[]): void {
  const seen = new Map<string, RouteEntry>();
  for (const e of table) {
    const key = `${e.hostname}:${e.port}`;
    const other = seen.get(key);
    if (other) {
      const owner = `${other.service} (${other.component}/${other.route})`;
      throw new RouteError(`route ${key} of ${e.service} (${e.component}/${e.route}) is already claimed by ${owner}`);
    }
    seen.set(key, e);
  }
}

/** A stable order, so that the same table always renders the same config. */
export function sortTable(table: RouteEntry[]): RouteEntry[] {
  const key = (e: RouteEntry) => `${String(e.port).padStart(5, "0")} ${e.service} ${e.component} ${e.route}`;
  return [...table].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
