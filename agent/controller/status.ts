// What Status reports of a service, computed here so that the RPC handler only translates:
// per component the desired and observed state and image, the drift (reckoned as the
// reconciler does, reconcile/drift.ts) and the ports; the managed containers of the service
// that the desired state does not know; its recent events; its SMEP placement. Only this
// agent's containers count: another's under a component's name leaves that component missing.
import type { DriftKind } from "../reconcile/drift.ts";
import { driftOf } from "../reconcile/drift.ts";
import type { ServicePlacement } from "../placement/placer.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { ContainerInfo } from "../runtime/runtime.ts";
import type { AgentEventRecord, DesiredState, StateStore } from "../state/store.ts";
import type { ServiceController } from "./controller.ts";
import { LABELS, replacementName } from "./plan.ts";

export interface PublishedPort {
  route: string;
  hostPort: number;
  /** Where the container publishes it; "" when it does not (or there is no container). */
  hostIp: string;
}

export interface ComponentStatus {
  component: string;
  container: string;
  desiredState: DesiredState;
  /** podman's state, or "missing". */
  observedState: string;
  desiredImage: string;
  observedImage: string;
  /** Undefined: none (a component stopped on purpose has none). */
  drift?: DriftKind;
  ports: PublishedPort[];
  startedAt: string;
}

export interface ServiceStatus {
  service: string;
  version: string;
  active: boolean;
  components: ComponentStatus[];
  recentEvents: AgentEventRecord[];
  /** Managed containers of the service that no component (nor its replacement) is named for. */
  unknownContainers: string[];
  /** With SMEP placement. */
  placement?: ServicePlacement;
}

export interface StatusDeps {
  controller: ServiceController;
  store: StateStore;
  runtimes: RuntimeProvider;
}

/** The route ports of a component, each with the address its container publishes it on. */
export function publishedPorts(info: ContainerInfo | undefined, routes: { hostPort: number; route: string }[]): PublishedPort[] {
  return routes.map((r) => ({ route: r.route, hostPort: r.hostPort, hostIp: info?.ports.find((p) => p.hostPort === r.hostPort)?.hostIp ?? "" }));
}

export async function serviceStatus(d: StatusDeps, service: string): Promise<ServiceStatus> {
  const def = await d.controller.definitionOf(service);
  const stored = await d.store.components(service);
  const ports = await d.store.ports(service);
  const { runtime } = await d.runtimes.forService(service);
  const own = d.controller.ownership;
  const components: ComponentStatus[] = [];
  for (const c of def.components) {
    const container = d.controller.containerOf(service, c.name);
    const info = await own.mineNamed(runtime, container);
    const want = stored.find((s) => s.name === c.name);
    const drift = want?.specHash ? driftOf(want.specHash, want.image, info) : info ? undefined : "missing";
    components.push({
      component: c.name,
      container,
      desiredState: want?.desired ?? "running",
      observedState: info?.state ?? "missing",
      desiredImage: want?.image ?? "",
      observedImage: info?.image ?? "",
      drift: drift === "stopped" && want?.desired === "stopped" ? undefined : drift,
      ports: publishedPorts(
        info,
        ports.filter((p) => p.component === c.name),
      ),
      startedAt: info?.startedAt ?? "",
    });
  }
  const names = new Set(def.components.flatMap((c) => [d.controller.containerOf(service, c.name), replacementName(d.controller.containerOf(service, c.name))]));
  const unknownContainers = (await own.mine(await runtime.list({ [LABELS.managed]: "true", [LABELS.service]: service })))
    .map((c) => c.name)
    .filter((n) => !names.has(n));
  const recentEvents = await d.store.recentEvents(service);
  const placement = await d.controller.planner.placementOf(def);
  return { service, version: def.version, active: def.active, components, recentEvents, unknownContainers, placement };
}
