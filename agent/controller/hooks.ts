// The seam for what a deploy programs outside the node: the proxy's routes and the DNS
// records (docs/routing.md). deploy/publisher.ts plugs HAProxy and PowerDNS in
// (docs/routing.md); without [proxy] and [dns] the default does nothing.
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { PlannedComponent } from "./plan.ts";

export interface DeployHooks {
  /**
   * Before a deploy pulls or switches anything: throws when its routes or records cannot be
   * published (a clash, a missing certificate, a server down), so nothing is touched.
   * `planned`: the components that will run when the deploy is done.
   */
  prepare(def: ServiceDefinition, planned: PlannedComponent[]): Promise<void>;
  /** After a component's container is running (a redeploy: the new one): its routes switch to it. */
  componentStarted(def: ServiceDefinition, planned: PlannedComponent): Promise<void>;
  /** Before a component's container stops for good (stop, remove): withdraw its routes. */
  componentStopping(service: string, component: string): Promise<void>;
  /** After a service's containers are gone (remove): its DNS records go too. */
  serviceRemoved(service: string): Promise<void>;
}

export const noHooks: DeployHooks = {
  async prepare() {},
  async componentStarted() {},
  async componentStopping() {},
  async serviceRemoved() {},
};
