// Compares desired state with what podman reports, on start and every
// interval: reports drift and repairs what it safely can. It only ever touches
// containers carrying the agent's label, and never restarts a healthy one.
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceController } from "../deploy/controller.ts";
import { LABELS, containerName } from "../deploy/plan.ts";
import type { ContainerInfo } from "../runtime/runtime.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { StateStore } from "../state/store.ts";

export type DriftKind = "missing" | "stopped" | "image_mismatch" | "definition_changed" | "unknown_container";

export interface Drift {
  service: string;
  component: string;
  container: string;
  kind: DriftKind;
  /** What the reconciler did about it. */
  action: "recreated" | "started" | "reported" | "repair_failed";
  message: string;
}

export interface ReconcilerDeps {
  runtimes: RuntimeProvider;
  store: StateStore;
  controller: ServiceController;
  log: Logger;
}

/** Whether a restart policy asks for a stopped container to be brought back. */
export function policyRestarts(restart: string, exitCode: number | undefined): boolean {
  if (restart === "always" || restart === "unless-stopped") return true;
  if (restart.startsWith("on-failure")) return exitCode !== 0;
  return false;
}

export function driftOf(desiredHash: string, desiredImage: string, observed: ContainerInfo | undefined): DriftKind | undefined {
  if (!observed) return "missing";
  if (desiredImage && observed.image !== desiredImage && !observed.image.endsWith(`/${desiredImage}`)) return "image_mismatch";
  if (desiredHash && observed.labels[LABELS.hash] !== desiredHash) return "definition_changed";
  if (observed.state !== "running") return "stopped";
  return undefined;
}

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Drift[]> | undefined;

  constructor(private readonly d: ReconcilerDeps) {}

  /** One pass over every service; returns the drift found (and what was done). */
  reconcileOnce(): Promise<Drift[]> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<Drift[]> {
    const observed = new Map<string, ContainerInfo>();
    for (const rt of await this.d.runtimes.all()) for (const c of await rt.list({ [LABELS.managed]: "true" })) observed.set(c.name, c);
    const drifts: Drift[] = [];
    const known = new Set<string>();
    for (const def of await this.d.store.definitions()) {
      const stored = await this.d.store.components(def.name);
      for (const comp of def.components) {
        const container = containerName(def.name, comp.name);
        known.add(container).add(`${container}-next`);
        const want = stored.find((s) => s.name === comp.name);
        if (!want || !want.specHash) continue; // never deployed: nothing to compare
        const drift = await this.d.controller.locks.run(def.name, () => this.check(def.name, comp.name, comp.restart, want.desired, want.specHash, want.image, observed.get(container)));
        if (drift) drifts.push(drift);
      }
    }
    for (const [name, info] of observed) {
      if (known.has(name)) continue;
      drifts.push({
        service: info.labels[LABELS.service] ?? "",
        component: info.labels[LABELS.component] ?? "",
        container: name,
        kind: "unknown_container",
        action: "reported",
        message: `${name} carries the agent's label but no desired state names it; left alone`,
      });
    }
    for (const d of drifts) this.d.log.warn({ ...d }, "drift");
    return drifts;
  }

  private async check(service: string, component: string, restart: string, desired: string, hash: string, image: string, observed: ContainerInfo | undefined): Promise<Drift | undefined> {
    const container = containerName(service, component);
    const kind = driftOf(hash, image, observed);
    if (kind === undefined) return undefined;
    if (kind === "stopped" && desired === "stopped") return undefined; // stopped on purpose
    const drift: Drift = { service, component, container, kind, action: "reported", message: "" };
    try {
      if (kind === "missing" && desired === "running") {
        // podman lost the container (removed behind our back, or its database was reset): rebuild it from our state.
        await this.d.controller.recreate(service, component);
        drift.action = "recreated";
        drift.message = `${container} was missing; recreated from the agent's state`;
      } else if (kind === "stopped" && policyRestarts(restart, observed?.exitCode)) {
        await (await this.d.runtimes.forService(service)).runtime.start(container);
        drift.action = "started";
        drift.message = `${container} was ${observed!.state}; started (restart policy ${restart})`;
      } else {
        drift.message = `${container}: ${kind.replace("_", " ")}${kind === "missing" ? "" : `; redeploy ${service} to converge`}`;
      }
    } catch (err) {
      drift.action = "repair_failed";
      drift.message = `${container}: ${kind} and repair failed: ${(err as Error).message}`;
    }
    await this.d.store.event(service, component, `drift_${kind}`, drift.message);
    return drift;
  }

  start(intervalMs: number): void {
    const tick = () => {
      this.reconcileOnce()
        .catch((err) => this.d.log.error({ err }, "reconciliation failed"))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
