// Host ports for routes: stable across redeploys (kept in the state store),
// otherwise the lowest port in the configured range that nothing else holds.
import { createServer } from "node:net";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { routeKey } from "../controller/plan.ts";
import type { PortAssignment, StateStore } from "../state/store.ts";

export class PortError extends Error {
  override name = "PortError";
}

/** Whether a TCP port can be bound on `address` right now. */
export function portIsFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export interface PortRange {
  start: number;
  end: number;
  address: string;
}

/** Assigns a port to every route of `def` that has none, releases those of removed routes; returns the service's assignments. */
export async function ensurePorts(def: ServiceDefinition, store: StateStore, range: PortRange, isFree = portIsFree): Promise<PortAssignment[]> {
  for (const c of def.components) await store.releasePorts(def.name, c.name, c.routes.map((r) => routeKey(r.name)));
  const taken = new Set((await store.ports()).map((p) => p.hostPort));
  const mine = await store.ports(def.name);
  let next = range.start;
  for (const c of def.components) {
    for (const r of c.routes) {
      const key = routeKey(r.name);
      if (mine.some((p) => p.component === c.name && p.route === key)) continue;
      while (next <= range.end && (taken.has(next) || !(await isFree(next, range.address)))) next++;
      if (next > range.end) throw new PortError(`no free port left in ${range.start}-${range.end} for ${def.name}/${c.name} route ${key}`);
      const a = { hostPort: next, service: def.name, component: c.name, route: key };
      await store.assignPort(a);
      taken.add(next);
      mine.push(a);
    }
  }
  return mine;
}
