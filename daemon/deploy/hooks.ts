// The seam for what a deploy programs outside the node: mc-proxy routes and
// MCNS records (seed 000 §3 steps 3-4). Those servers exist already; an
// implementation that talks to them plugs in here. The default does nothing.
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { PlannedComponent } from "./plan.ts";

export interface DeployHooks {
  /** After a component's container is running: register its routes. */
  componentStarted(def: ServiceDefinition, planned: PlannedComponent): Promise<void>;
  /** Before a component's container stops for good (stop, remove): withdraw its routes. */
  componentStopping(service: string, component: string): Promise<void>;
}

export const noHooks: DeployHooks = {
  async componentStarted() {},
  async componentStopping() {},
};
