// Compares desired state with what podman reports, on start and every
// interval: reports drift and repairs what it safely can. It only ever touches
// this agent's own containers (controller/ownership.ts), and never restarts a healthy one.
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceController } from "../controller/controller.ts";
import { LABELS, replacementName } from "../controller/plan.ts";
import type { ContainerInfo } from "../runtime/runtime.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { StateStore } from "../state/store.ts";
import type { Publisher } from "../controller/publisher.ts";
import { reconcilePublished, type PublishInput } from "./publish.ts";
import { checkContainerMounts, UnsafeMountError } from "../controller/mount-check.ts";
import type { Drift } from "./drift.ts";
import { driftOf } from "./drift.ts";

export interface ReconcilerDeps {
  runtimes: RuntimeProvider;
  store: StateStore;
  controller: ServiceController;
  log: Logger;
  /** Routes and DNS records, when the node has [proxy] or [dns]. */
  publisher?: Publisher;
}

/** Whether a restart policy asks for a stopped container to be brought back. */
export function policyRestarts(restart: string, exitCode: number | undefined): boolean {
  if (restart === "always" || restart === "unless-stopped") return true;
  if (restart.startsWith("on-failure")) return exitCode !== 0;
  return false;
}

interface PassWaiter {
  resolve(drifts: Drift[]): void;
  reject(err: unknown): void;
}

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Drift[]> | undefined;
  private completed = 0;
  /** Waiting for a pass that starts after they asked. */
  private waiters: PassWaiter[] = [];
  /** A requested pass waits for the running one. */
  private queued = false;
  private stopped = false;

  constructor(private readonly d: ReconcilerDeps) {}

  /** Passes finished so far (failed ones included). */
  get passes(): number {
    return this.completed;
  }

  /** One pass over every service; returns the drift found (and what was done). Joins a pass already running. */
  reconcileOnce(): Promise<Drift[]> {
    if (!this.running) {
      const waiters = this.waiters;
      this.waiters = [];
      // Tests of the agent process wait for these lines instead of sleeping through an interval.
      this.d.log.debug({ pass: this.completed + 1 }, "reconcile pass started");
      this.running = this.pass().then(
        (drifts) => {
          this.finished(drifts.length);
          waiters.forEach((w) => w.resolve(drifts));
          return drifts;
        },
        (err: unknown) => {
          this.finished(undefined);
          waiters.forEach((w) => w.reject(err));
          throw err;
        },
      );
    }
    return this.running;
  }

  /** A pass as soon as it can start: now, or right after the one running (which may have looked too early). */
  requestPass(): void {
    if (this.stopped) return;
    const run = () => void this.reconcileOnce().catch((err) => this.d.log.error({ err }, "reconciliation failed"));
    if (!this.running) {
      run();
      return;
    }
    if (this.queued) return;
    this.queued = true;
    void this.running
      .catch(() => undefined)
      .finally(() => {
        this.queued = false;
        if (!this.stopped) run();
      });
  }

  /** The drift of the next pass that starts after this call (one already running observed too early). */
  nextPass(): Promise<Drift[]> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private finished(drifts: number | undefined): void {
    this.running = undefined; // before the waiters run: a pass they ask for is a new one
    this.completed++;
    this.d.log.debug({ pass: this.completed, drifts, ok: drifts !== undefined }, "reconcile pass done");
  }

  private async pass(): Promise<Drift[]> {
    const observed = new Map<string, ContainerInfo>();
    const { runtimes, failed } = await this.d.runtimes.all();
    const own = this.d.controller.ownership;
    for (const rt of runtimes) for (const c of await own.mine(await rt.list({ [LABELS.managed]: "true" }))) observed.set(c.name, c);
    const drifts: Drift[] = [];
    const known = new Set<string>();
    const publish: PublishInput[] = [];
    for (const def of await this.d.store.definitions()) {
      const stored = await this.d.store.components(def.name);
      const placementError = failed.get(def.name);
      if (this.d.publisher && !placementError && stored.some((s) => s.specHash)) {
        const planned = await this.d.controller.locks.run(def.name, () => this.d.controller.planner.plan(def)).catch(() => undefined);
        const running = new Set(
          def.components.filter((c) => observed.get(this.d.controller.containerOf(def.name, c.name))?.state === "running").map((c) => c.name),
        );
        if (planned) publish.push({ def, planned, running });
      }
      if (placementError)
        this.d.log.error({ service: def.name, err: placementError }, "placement failed: the service's containers cannot be observed and are left alone");
      for (const comp of def.components) {
        const container = this.d.controller.containerOf(def.name, comp.name);
        known.add(container).add(replacementName(container));
        const want = stored.find((s) => s.name === comp.name);
        if (!want || !want.specHash) continue; // never deployed: nothing to compare
        if (placementError) {
          drifts.push(await this.unobservable(def.name, comp.name, placementError));
          continue;
        }
        const drift = await this.d.controller.locks.run(def.name, () =>
          this.check(def.name, comp.name, comp.restart, want.desired, want.specHash, want.image, observed.get(container)),
        );
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
    if (this.d.publisher) drifts.push(...(await reconcilePublished(this.d.publisher, publish, (service, fn) => this.d.controller.locks.run(service, fn))));
    for (const d of drifts) this.d.log[d.kind === "unsafe_mount" ? "error" : "warn"]({ ...d }, "drift");
    return drifts;
  }

  /** Not "missing": recreating a container that may be running elsewhere would be wrong. */
  private async unobservable(service: string, component: string, err: Error): Promise<Drift> {
    const container = this.d.controller.containerOf(service, component);
    const message = `${container}: placement failed, so its podman cannot be asked; left alone: ${err.message}`;
    await this.d.store.event(service, component, "drift_placement_failed", message);
    return { service, component, container, kind: "placement_failed", action: "reported", message };
  }

  private async check(
    service: string,
    component: string,
    restart: string,
    desired: string,
    hash: string,
    image: string,
    observed: ContainerInfo | undefined,
  ): Promise<Drift | undefined> {
    const container = this.d.controller.containerOf(service, component);
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
        const { runtime } = await this.d.runtimes.forService(service);
        const p = (await this.d.controller.planner.plan(await this.d.controller.definitionOf(service))).find((x) => x.component === component);
        if (p) await checkContainerMounts(runtime, p); // podman would follow a link planted since the last start
        await runtime.start(container);
        drift.action = "started";
        drift.message = `${container} was ${observed!.state}; started (restart policy ${restart})`;
      } else {
        drift.message = `${container}: ${kind.replace("_", " ")}${kind === "missing" ? "" : `; redeploy ${service} to converge`}`;
      }
    } catch (err) {
      if (err instanceof UnsafeMountError) {
        drift.kind = "unsafe_mount";
        drift.message = `${container} is ${kind} and was not ${kind === "missing" ? "recreated" : "started"}: ${err.message}`;
      } else {
        drift.action = "repair_failed";
        drift.message = `${container}: ${kind} and repair failed: ${(err as Error).message}`;
      }
    }
    await this.d.store.event(service, component, `drift_${drift.kind}`, drift.message);
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
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
