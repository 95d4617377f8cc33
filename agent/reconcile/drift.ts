// What the reconciler finds when desired state and podman disagree, and how one
// container's drift is told (Status computes it the same way).
import { LABELS } from "../controller/plan.ts";
import type { ContainerInfo } from "../runtime/runtime.ts";

/**
 * placement_failed: the service's podman cannot be found, so its containers cannot be observed (left alone).
 * unsafe_mount: a stopped or missing container is not started or recreated: a volume or storage folder passes through a link.
 * route_missing, route_withdrawn, proxy_out_of_sync, dns_out_of_sync: what the node publishes (reconcile/publish.ts).
 */
export type DriftKind =
  | "missing"
  | "stopped"
  | "image_mismatch"
  | "definition_changed"
  | "unknown_container"
  | "placement_failed"
  | "unsafe_mount"
  | "route_missing"
  | "route_withdrawn"
  | "proxy_out_of_sync"
  | "dns_out_of_sync";

export interface Drift {
  service: string;
  component: string;
  container: string;
  kind: DriftKind;
  /** What the reconciler did about it. */
  action: "recreated" | "started" | "repaired" | "reported" | "repair_failed";
  message: string;
}

export function driftOf(desiredHash: string, desiredImage: string, observed: ContainerInfo | undefined): DriftKind | undefined {
  if (!observed) return "missing";
  if (desiredImage && observed.image !== desiredImage && !observed.image.endsWith(`/${desiredImage}`)) return "image_mismatch";
  if (desiredHash && observed.labels[LABELS.hash] !== desiredHash) return "definition_changed";
  if (observed.state !== "running") return "stopped";
  return undefined;
}
