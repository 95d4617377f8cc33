// What a service should run, planned from its definition: the route ports (kept or the lowest
// free ones; with SMEP, computed from its placement), the placement, and each container
// (plan.ts). Planning records nothing: `record` stores what a plan assigned once the
// definition it was made from is stored, so a refused definition leaves no trace.
import { join } from "node:path";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { planPorts, recordPorts, type PortRange } from "../ports/allocator.ts";
import type { Placer, ServicePlacement } from "../placement/placer.ts";
import type { PortAssignment, StateStore } from "../state/store.ts";
import { planService, resolveImage, routeKey, type PlanContext, type PlannedComponent, type SmepPlan } from "./plan.ts";

/** A service's plan: its containers, the route ports they use and, with SMEP, its placement. */
export interface ServicePlan {
  planned: PlannedComponent[];
  ports: PortAssignment[];
  placement?: ServicePlacement;
}

export interface PlannerDeps {
  store: StateStore;
  plan: PlanContext;
  ports: PortRange;
  /** SMEP placement; absent: ports from `ports`. */
  placer?: Placer;
}

export class ServicePlanner {
  constructor(private readonly d: PlannerDeps) {}

  private smepPlan(sp: ServicePlacement): SmepPlan {
    const plan: SmepPlan = { placement: sp.placement, storageRoot: sp.storage.path, rootful: sp.isolation === "rootful" };
    if (sp.isolation === "rootless") {
      plan.envBase = this.d.placer!.homeOf(sp.placement.user);
      plan.envDir = join(plan.envBase, ".config", "mcp", "env");
    }
    return plan;
  }

  /** Plans `def` without recording anything. Throws PlanError, PlacementError, PortError. */
  async planOf(def: ServiceDefinition): Promise<ServicePlan> {
    if (this.d.placer) {
      const placement = await this.d.placer.placementFor(def);
      return { planned: planService(def, placement.ports, this.d.plan, this.smepPlan(placement)), ports: placement.ports, placement };
    }
    const ports = await planPorts(def, this.d.store, this.d.ports);
    return { planned: planService(def, ports, this.d.plan), ports };
  }

  /** Records what `plan` assigned to the stored `def`: a new machine number (SMEP), or its ports. */
  async record(def: ServiceDefinition, plan: ServicePlan): Promise<void> {
    if (plan.placement) await this.d.placer!.recordNumber(def, plan.placement);
    else await recordPorts(def, plan.ports, this.d.store);
  }

  /** The plan for a stored service, with its ports and machine number recorded. */
  async plan(def: ServiceDefinition): Promise<PlannedComponent[]> {
    const plan = await this.planOf(def);
    await this.record(def, plan);
    return plan.planned;
  }

  /** The image each component of `def` runs: the one it names, or the registry's by convention. */
  imagesOf(def: ServiceDefinition): string[] {
    return def.components.map((c) => resolveImage(def, c, this.d.plan.registryHost));
  }

  /** The service's SMEP placement, when the node places by SMEP. */
  async placementOf(def: ServiceDefinition): Promise<ServicePlacement | undefined> {
    return this.d.placer?.placementFor(def);
  }

  /**
   * Checks everything about a definition that does not need podman (image names, volume roots)
   * without assigning ports or storing anything; `registry`: a machine registry about to be
   * stored (Sync). Throws PlanError, PlacementError.
   */
  async validate(def: ServiceDefinition, registry?: Map<string, number>): Promise<void> {
    if (this.d.placer) {
      const sp = await this.d.placer.placementFor(def, registry);
      planService(def, sp.ports, this.d.plan, this.smepPlan(sp));
      return;
    }
    const ports = def.components.flatMap((c) => c.routes.map((r) => ({ hostPort: 0, service: def.name, component: c.name, route: routeKey(r.name) })));
    planService(def, ports, this.d.plan);
  }
}
