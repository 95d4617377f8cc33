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

/**
 * The ports of `def`'s routes: the ones they have, and for a route without one the lowest
 * port of the range nothing else holds (ports of routes that left a component count as
 * free; components that left the definition keep theirs until a deploy drops them). Writes
 * nothing: recordPorts stores the result once the definition is stored.
 */
export async function planPorts(def: ServiceDefinition, store: StateStore, range: PortRange, isFree = portIsFree): Promise<PortAssignment[]> {
  const routes = new Map(def.components.map((c) => [c.name, new Set(c.routes.map((r) => routeKey(r.name)))]));
  const released = (p: PortAssignment) => p.service === def.name && routes.has(p.component) && !routes.get(p.component)!.has(p.route);
  const kept = (await store.ports()).filter((p) => !released(p));
  const taken = new Set(kept.map((p) => p.hostPort));
  const mine = kept.filter((p) => p.service === def.name);
  let next = range.start;
  for (const c of def.components) {
    for (const r of c.routes) {
      const key = routeKey(r.name);
      if (mine.some((p) => p.component === c.name && p.route === key)) continue;
      while (next <= range.end && (taken.has(next) || !(await isFree(next, range.address)))) next++;
      if (next > range.end) throw new PortError(`no free port left in ${range.start}-${range.end} for ${def.name}/${c.name} route ${key}`);
      taken.add(next);
      mine.push({ hostPort: next, service: def.name, component: c.name, route: key });
    }
  }
  return mine;
}

/** Stores what planPorts gave for the stored `def`: the ports of its routes that are gone are released, new ones recorded. */
export async function recordPorts(def: ServiceDefinition, ports: PortAssignment[], store: StateStore): Promise<void> {
  for (const c of def.components)
    await store.releasePorts(
      def.name,
      c.name,
      c.routes.map((r) => routeKey(r.name)),
    );
  const stored = new Set((await store.ports(def.name)).map((p) => p.hostPort));
  for (const a of ports) if (!stored.has(a.hostPort)) await store.assignPort(a);
}
