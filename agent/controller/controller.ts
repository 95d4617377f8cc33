// Deploy, stop, start, restart and remove, one service at a time. A deploy
// creates the new container beside the old one, swaps them, and puts the old
// one back if the new one does not stay up: a failed deploy never leaves the
// service down when it was running before.
import { mkdir } from "node:fs/promises";
import { basename, dirname, relative } from "node:path";
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { Channel } from "../../lib/sync/channel.ts";
import { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import { PortError, portIsFree, type PortRange } from "../ports/allocator.ts";
import type { ContainerInfo, Runtime } from "../runtime/runtime.ts";
import type { RuntimeProvider, ServiceRuntime } from "../runtime/provider.ts";
import type { Placer } from "../placement/placer.ts";
import { portHolder } from "../placement/ports.ts";
import { withServiceDir, writeFileIn } from "../placement/safe-fs.ts";
import type { StateStore } from "../state/store.ts";
import { noHooks, type DeployHooks } from "./hooks.ts";
import { startAndWatch, watchStart } from "./watch.ts";
import { checkContainerMounts, checkMounts, prepareMounts } from "./mount-check.ts";
import { LABELS, containerName, envFileText, replacementName, type PlanContext, type PlannedComponent } from "./plan.ts";
import { DEPLOYED_EVENT, deployedMessage } from "./releases.ts";
import { ForeignContainerError, Ownership } from "./ownership.ts";
import { ServicePlanner, type ServicePlan } from "./planner.ts";

export type DeployPhase = "pulling" | "creating" | "starting" | "running" | "unchanged" | "failed" | "done";

export interface DeployProgress {
  component: string;
  phase: DeployPhase;
  message: string;
  container?: string;
  image?: string;
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
}

export class DeployFailedError extends Error {
  override name = "DeployFailedError";
}

export interface ControllerDeps {
  runtimes: RuntimeProvider;
  store: StateStore;
  plan: PlanContext;
  ports: PortRange;
  /** SMEP placement; absent: ports from `ports`, containers in the agent's podman. */
  placer?: Placer;
  startGraceMs: number;
  stopTimeoutSeconds: number;
  log: Logger;
  hooks?: DeployHooks;
}

export class ServiceController {
  /** One operation per service at a time; the reconciler takes the same lock. */
  readonly locks = new KeyedLock();
  /** Plans services from their definitions (Sync validates with it, Status places with it). */
  readonly planner: ServicePlanner;
  /** Which containers are this agent's: the only ones it touches (ownership.ts). */
  readonly ownership: Ownership;
  private readonly hooks: DeployHooks;

  constructor(private readonly d: ControllerDeps) {
    this.hooks = d.hooks ?? noHooks;
    this.planner = new ServicePlanner(d);
    this.ownership = new Ownership(d.plan.identity, d.store);
  }

  private rt(service: string): Promise<ServiceRuntime> {
    return this.d.runtimes.forService(service);
  }

  /** The name this agent gives a component's container. */
  containerOf(service: string, component: string): string {
    return containerName(this.d.plan.identity.containerPrefix, service, component);
  }

  /** Removes a container of this agent's; another's under that name is left alone, and an event says so. */
  private async removeContainer(runtime: Runtime, service: string, component: string, name: string): Promise<boolean> {
    const outcome = await this.ownership.removeMine(runtime, name);
    if (typeof outcome === "object") await this.d.store.event(service, component, "left_alone", this.ownership.foreign(outcome, "not removed").message);
    return outcome === "removed";
  }

  async definitionOf(service: string): Promise<ServiceDefinition> {
    const def = await this.d.store.definition(service);
    if (!def) throw new NotFoundError(`service ${service} is not known on this node (sync or deploy its definition first)`);
    return def;
  }

  /** Writes a container's env file (0600), owned by the service user when its podman must read it. */
  private async writeEnvFile(p: PlannedComponent, path: string): Promise<void> {
    const o = p.envOwner;
    if (o) {
      // In the service user's home: nothing there may be followed (safe-fs).
      const owner = { uid: o.uid, gid: o.uid };
      withServiceDir(o.base, relative(o.base, dirname(path)), { ...owner, mode: 0o700 }, (fd) =>
        writeFileIn(fd, basename(path), envFileText(p.env), 0o600, owner),
      );
      return;
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomic(path, envFileText(p.env), 0o600);
  }

  /**
   * Streams the progress of a deploy; the last item has phase "done" (or the stream throws
   * DeployFailedError after a "failed" item). With `def`, the definition is planned (so
   * validated) and stored first, and put back as it was if the deploy fails, so a bad
   * definition leaves the node's desired state unchanged. The definition is planned once.
   */
  deploy(service: string, def?: ServiceDefinition): AsyncIterable<DeployProgress> {
    const out = new Channel<DeployProgress>();
    const emit = (p: DeployProgress) => out.push(p);
    this.locks
      .run(service, async () => {
        if (!def) {
          const stored = await this.definitionOf(service);
          return this.deployLocked(stored, await this.planner.planOf(stored), emit);
        }
        const plan = await this.planner.planOf(def); // a bad definition fails here, before anything is stored
        const previous = await this.d.store.definition(service);
        await this.d.store.putDefinition(def);
        try {
          await this.deployLocked(def, plan, emit);
        } catch (err) {
          // Put the desired state back; a failure while doing so must not hide why the deploy failed.
          try {
            if (previous) await this.d.store.putDefinition(previous);
            else if (!(await this.ownership.mine(await (await this.rt(service)).runtime.list({ [LABELS.service]: service, [LABELS.managed]: "true" }))).length)
              await this.d.store.removeService(service);
          } catch (restoreErr) {
            this.d.log.error({ err: (restoreErr as Error).message, service }, "could not restore the previous definition after a failed deploy");
          }
          throw err;
        }
      })
      .then(
        () => out.close(),
        (err) => out.close(err),
      );
    return out;
  }

  /** Deploys the stored `def` as `plan` (planner.planOf) has it. */
  private async deployLocked(def: ServiceDefinition, plan: ServicePlan, emit: (p: DeployProgress) => void): Promise<void> {
    const service = def.name;
    await this.planner.record(def, plan);
    const { planned, placement } = plan;
    // Routes and records are checked before anything is pulled or switched (docs/routing.md).
    await this.hooks.prepare(def, def.active ? planned : []);
    if (placement) await this.d.placer!.prepare(def, placement, this.d.runtimes.agentPull);
    // Every volume, before anything is pulled or stopped: a link there refuses the deploy as a whole.
    for (const p of planned) prepareMounts(p);
    const srt = await this.rt(service);
    for (const p of planned) {
      try {
        await this.deployComponent(srt, def, p, emit);
      } catch (err) {
        const message = (err as Error).message;
        await this.d.store.event(service, p.component, "deploy_failed", message);
        emit({ component: p.component, phase: "failed", message, container: p.container, image: p.image });
        const failed = `deploy of ${service} failed at ${p.component}: ${message}`;
        throw err instanceof ForeignContainerError ? new ForeignContainerError(failed) : new DeployFailedError(failed);
      }
    }
    for (const gone of await this.d.store.dropComponents(
      service,
      planned.map((p) => p.component),
    )) {
      await this.hooks.componentStopping(service, gone);
      await this.removeContainer(srt.runtime, service, gone, this.containerOf(service, gone));
      await this.d.store.event(service, gone, "removed", "component no longer in the definition");
    }
    if (!def.active) await this.stopLocked(def, undefined);
    emit({ component: "", phase: "done", message: `${service} ${def.version} deployed` });
  }

  private async deployComponent(srt: ServiceRuntime, def: ServiceDefinition, p: PlannedComponent, emit: (x: DeployProgress) => void): Promise<void> {
    const runtime = srt.runtime;
    const base = { component: p.component, container: p.container, image: p.image };
    // Each podman call costs tens of milliseconds: ask both questions at once.
    const [current, present] = await Promise.all([this.ownership.ownNamed(runtime, p.container, "not replaced"), runtime.hasImage(p.image)]);
    // A container from before agents labelled theirs is replaced even when unchanged, so that it gets the label.
    if (current && current.labels[LABELS.hash] === p.hash && current.labels[LABELS.agent] === this.d.plan.identity.id) {
      let running = current.state === "running";
      if (!running && def.active) {
        emit({ ...base, phase: "starting", message: "starting the existing container" });
        checkMounts(p, current.bindSources);
        await runtime.start(p.container);
        running = true;
      }
      await this.d.store.recordDeployed(def.name, p.component, p.hash, p.image);
      // Routes are not part of the container's hash: a changed hostname or mode still applies.
      if (running) await this.hooks.componentStarted(def, p);
      emit({ ...base, phase: "unchanged", message: "container is up to date" });
      return;
    }

    // Versions are pinned tags (never "latest"), so an image already in local storage is the one wanted.
    if (present) emit({ ...base, phase: "pulling", message: `${p.image} is already present` });
    else {
      emit({ ...base, phase: "pulling", message: `pulling ${p.image}` });
      await runtime.pull(p.image, srt.pull);
    }
    await this.checkPorts(p, current);

    emit({ ...base, phase: "creating", message: current ? "creating a replacement container" : "creating the container" });
    prepareMounts(p); // again: the pull may have taken a while
    if (!current) {
      // First deploy: nothing to keep running, so one `podman run` under the final name.
      await this.writeEnvFile(p, p.spec.envFile!);
      emit({ ...base, phase: "starting", message: "starting" });
      let failure: string | undefined;
      try {
        await runtime.run(p.spec);
        failure = await watchStart(runtime, p.container, this.d.startGraceMs);
      } catch (err) {
        failure = `the new container did not start: ${(err as Error).message}`;
      }
      if (failure) {
        // Only its own: a failed run may have met another agent's container under the name.
        await this.ownership.removeMine(runtime, p.container).catch(() => undefined);
        throw new Error(failure);
      }
    } else {
      await this.replace(runtime, def, p, current, emit);
    }
    await this.d.store.recordDeployed(def.name, p.component, p.hash, p.image);
    await this.d.store.event(def.name, p.component, DEPLOYED_EVENT, deployedMessage(p.image));
    await this.hooks.componentStarted(def, p);
    emit({ ...base, phase: "running", message: `running ${p.image}` });
  }

  /** Swaps a changed component: new container beside the old, old stopped, new started; the old one comes back if the new one fails. */
  private async replace(
    runtime: Runtime,
    def: ServiceDefinition,
    p: PlannedComponent,
    current: ContainerInfo,
    emit: (x: DeployProgress) => void,
  ): Promise<void> {
    const base = { component: p.component, container: p.container, image: p.image };
    // The env file of the new container must not clobber the running one's until the swap succeeds.
    const next = replacementName(p.container);
    const nextEnv = `${p.spec.envFile}.next`;
    await this.writeEnvFile(p, nextEnv);
    const leftover = await this.ownership.removeMine(runtime, next); // from a crashed deploy
    if (typeof leftover === "object") throw this.ownership.foreign(leftover, "not replaced");
    await runtime.create({ ...p.spec, name: next, envFile: nextEnv });

    // The routes stay on the host port through the swap (the new container listens on the same
    // number): the proxy retries connections while neither container listens, and its table
    // switches (componentStarted) only once the new container runs.
    const wasRunning = current.state === "running";
    // The stop can take the whole timeout: say so, not "creating" all the while.
    if (wasRunning) emit({ ...base, phase: "creating", message: `stopping the old container (up to ${this.d.stopTimeoutSeconds} s for it to exit)` });
    if (wasRunning) await runtime.stop(p.container, this.d.stopTimeoutSeconds);
    emit({ ...base, phase: "starting", message: "starting" });
    const failure = await startAndWatch(runtime, next, this.d.startGraceMs);
    if (failure) {
      await runtime.remove(next, true).catch(() => undefined);
      if (wasRunning) {
        await checkContainerMounts(runtime, p).catch((err: Error) =>
          Promise.reject(new Error(`${failure}; the previous container was not started again: ${err.message}`)),
        );
        await runtime.start(p.container); // its routes never left
      }
      throw new Error(`${failure}${wasRunning ? "; the previous container was started again" : ""}`);
    }
    await runtime.remove(p.container, true);
    await runtime.rename(next, p.container);
    await this.writeEnvFile(p, p.spec.envFile!);
  }

  /** Refuses to start when a route's port is held by something other than this component's own container. */
  private async checkPorts(p: PlannedComponent, current: ContainerInfo | undefined): Promise<void> {
    for (const { route, hostPort } of p.ports) {
      if (current?.state === "running" && current.ports.some((b) => b.hostPort === hostPort)) continue;
      if (await portIsFree(hostPort, this.d.plan.publishAddress)) continue;
      const holder = await portHolder(hostPort);
      throw new PortError(`port ${hostPort} for ${p.container} route ${route} is already in use${holder ? ` by ${holder}` : ""}`);
    }
  }

  /** Rebuilds a missing container from the stored definition (caller holds the service's lock). */
  async recreate(service: string, component: string): Promise<void> {
    const def = await this.definitionOf(service);
    const p = (await this.planner.plan(def)).find((x) => x.component === component);
    if (!p) throw new NotFoundError(`service ${service} has no component ${component}`);
    const { runtime, pull } = await this.rt(service);
    await this.ownership.ownNamed(runtime, p.container, "not recreated");
    prepareMounts(p);
    // The image is usually still in local storage; pull only when it is not.
    await runtime
      .pull(p.image, pull)
      .catch((err) => this.d.log.warn({ err: (err as Error).message, image: p.image }, "pull before recreate failed; trying the local image"));
    await this.writeEnvFile(p, p.spec.envFile!);
    await runtime.run(p.spec);
    await this.hooks.componentStarted(def, p);
  }

  /** The components an operation names: `component`, or every one when it is empty. */
  private targets(def: ServiceDefinition, component: string | undefined): string[] {
    const names = def.components.map((c) => c.name);
    if (component !== undefined && component !== "") {
      if (!names.includes(component)) throw new NotFoundError(`service ${def.name} has no component ${component}`);
      return [component];
    }
    return names;
  }

  private async stateOf(runtime: Runtime, service: string, component: string): Promise<{ component: string; container: string; state: string }> {
    const container = this.containerOf(service, component);
    return { component, container, state: (await this.ownership.mineNamed(runtime, container))?.state ?? "missing" };
  }

  private async stopLocked(def: ServiceDefinition, component: string | undefined) {
    const service = def.name;
    const out = [];
    const { runtime } = await this.rt(service);
    for (const c of this.targets(def, component)) {
      await this.hooks.componentStopping(service, c);
      await this.d.store.setDesired(service, c, "stopped");
      const info = await this.ownership.mineNamed(runtime, this.containerOf(service, c));
      if (info?.state === "running") await runtime.stop(info.name, this.d.stopTimeoutSeconds);
      await this.d.store.event(service, c, "stopped", "stopped by request");
      out.push(await this.stateOf(runtime, service, c));
    }
    return out;
  }

  private async startLocked(def: ServiceDefinition, component: string | undefined) {
    const service = def.name;
    const out = [];
    const { runtime } = await this.rt(service);
    const plan = await this.planner.plan(def);
    for (const c of this.targets(def, component)) {
      const name = this.containerOf(service, c);
      const info = await this.ownership.ownNamed(runtime, name, "not started");
      if (!info) throw new NotFoundError(`${name} does not exist; deploy ${service} first`);
      const planned = plan.find((p) => p.component === c)!;
      try {
        if (info.state !== "running") checkMounts(planned, info.bindSources);
      } catch (err) {
        // Refused before the desired state says running, so the reconciler leaves it stopped.
        await this.d.store.event(service, c, "start_refused", (err as Error).message);
        throw err;
      }
      await this.d.store.setDesired(service, c, "running");
      if (info.state !== "running") await runtime.start(name);
      await this.hooks.componentStarted(def, planned);
      await this.d.store.event(service, c, "started", "started by request");
      out.push(await this.stateOf(runtime, service, c));
    }
    return out;
  }

  stop(service: string, component?: string) {
    return this.locks.run(service, async () => this.stopLocked(await this.definitionOf(service), component));
  }

  start(service: string, component?: string) {
    return this.locks.run(service, async () => this.startLocked(await this.definitionOf(service), component));
  }

  /** Stop and start in one critical section: no deploy or other operation on the service runs between them. */
  restart(service: string, component?: string) {
    return this.locks.run(service, async () => {
      const def = await this.definitionOf(service);
      await this.stopLocked(def, component);
      return this.startLocked(def, component);
    });
  }

  /** Stops and removes every container of the service and forgets it. */
  remove(service: string) {
    return this.locks.run(service, async () => {
      const def = await this.definitionOf(service);
      const { runtime } = await this.rt(service);
      const removed: string[] = [];
      for (const c of def.components) {
        await this.hooks.componentStopping(service, c.name);
        const name = this.containerOf(service, c.name);
        for (const n of [name, replacementName(name)]) if ((await this.removeContainer(runtime, service, c.name, n)) && n === name) removed.push(n);
      }
      if (this.d.placer) await this.d.placer.release(def, await this.d.placer.placementFor(def));
      await this.d.store.removeService(service);
      await this.hooks.serviceRemoved(service);
      await this.d.store.event(service, "", "removed", `removed ${removed.length} container(s)`);
      return removed;
    });
  }
}
