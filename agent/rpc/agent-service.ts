// AgentService: the node's RPC surface. Handlers only translate between the
// wire and the controller, store, reconciler and runtime.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "../../lib/log/logger.ts";
import { DeployPhase, LogStream, type AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { DeployFailedError, NotFoundError, type DeployPhase as Phase, type DeployProgress, type ServiceController } from "../controller/controller.ts";
import { LABELS, PlanError } from "../controller/plan.ts";
import { ForeignContainerError } from "../controller/ownership.ts";
import { publishedPorts, serviceStatus } from "../controller/status.ts";
import { PortError } from "../ports/allocator.ts";
import { NoSuchContainerError, RuntimeError, type ContainerInfo, type Runtime, type RuntimeEvent } from "../runtime/runtime.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import { PlacementError } from "../../lib/smep/smep.ts";
import { UserError } from "../placement/users.ts";
import { NfsError } from "../placement/nfs.ts";
import { UnsafePathError } from "../placement/safe-fs.ts";
import { HostCommandError } from "../placement/system.ts";
import { mergeStreams } from "../../lib/sync/merge.ts";
import type { StateStore } from "../state/store.ts";
import { definitionFromProto } from "./convert.ts";
import { PublishUnavailableError, type Publisher } from "../controller/publisher.ts";
import { RouteError } from "../routes/table.ts";
import { publishStatus } from "./publish-status.ts";
import { NAME_RE, type ServiceDefinition } from "../../lib/services/definition.ts";
import { quote } from "../../lib/text/quote.ts";
import { logSinceProblem } from "../../lib/text/log-since.ts";
import { agentAccess, type Access } from "./access.ts";
import { StreamLimits } from "./stream-limits.ts";
import { SlowWatcherError, type EventHub } from "../runtime/event-hub.ts";
import { ContainerListCache } from "../runtime/list-cache.ts";
import { StatsReader } from "./stats.ts";
import { pruneImages } from "./prune.ts";
import { execStream } from "./exec.ts";
import { describeService } from "./describe.ts";
import type { ExecAudit } from "../registry/exec-audit.ts";
import type { ReleaseStore } from "../state/releases.ts";
import { pinnedDefinition, recordedDeploy, releaseToProto, rollbackTarget } from "./releases.ts";

export interface AgentServiceDeps {
  controller: ServiceController;
  /** Routes and DNS records; absent: Status says neither is configured. */
  publisher?: Publisher;
  store: StateStore;
  runtimes: RuntimeProvider;
  node: string;
  version: string;
  log: Logger;
  /** Aborted when the agent shuts down: log and event follows end then, deploys run to their end. */
  closing?: AbortSignal;
  /** Who may do what, per service (absent: everything, as with authentication off). */
  access?: Access;
  /** Follows open per account (absent: not limited). */
  streams?: StreamLimits;
  /** One podman event subscription per runtime, shared by every Events stream (absent: one each). */
  events?: EventHub;
  /** mcr's audit log for Exec (absent: an authenticated caller's exec is refused; rpc/exec.ts). */
  execAudit?: ExecAudit;
  /** Where deploys are recorded as releases (History, Rollback); absent: none are. */
  releases?: ReleaseStore;
}

const PHASES: Record<Phase, DeployPhase> = {
  pulling: DeployPhase.PULLING,
  creating: DeployPhase.CREATING,
  starting: DeployPhase.STARTING,
  running: DeployPhase.RUNNING,
  unchanged: DeployPhase.UNCHANGED,
  failed: DeployPhase.FAILED,
  done: DeployPhase.DONE,
};

/** Maps the agent's errors onto Connect codes, keeping their messages (podman's stderr included). */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const message = (err as Error).message;
  if (err instanceof NotFoundError || err instanceof NoSuchContainerError) return new ConnectError(message, Code.NotFound);
  if (err instanceof PlanError || err instanceof PlacementError) return new ConnectError(message, Code.InvalidArgument);
  if (err instanceof ForeignContainerError) return new ConnectError(message, Code.FailedPrecondition);
  if (err instanceof UserError || err instanceof NfsError || err instanceof HostCommandError || err instanceof RouteError || err instanceof UnsafePathError)
    return new ConnectError(message, Code.FailedPrecondition);
  if (err instanceof PublishUnavailableError) return new ConnectError(message, Code.Unavailable);
  if (err instanceof PortError || err instanceof SlowWatcherError) return new ConnectError(message, Code.ResourceExhausted);
  if (err instanceof DeployFailedError) return new ConnectError(message, Code.Aborted);
  if (err instanceof RuntimeError) return new ConnectError(message, Code.Internal);
  return new ConnectError(message, Code.Internal);
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Most services and machine registry entries one Sync may carry (docs/agent.md); SMEP numbers machines 00-99. */
export const SYNC_LIMITS = { services: 256, machines: 100 } as const;

function checkService(name: string): string {
  if (!NAME_RE.test(name)) throw new ConnectError(`invalid service name ${quote(name)}`, Code.InvalidArgument);
  return name;
}

/** An optional component name ("" = all, or the first); checked before it reaches a message or podman. */
function checkComponent(name: string): string | undefined {
  if (name && !NAME_RE.test(name)) throw new ConnectError(`invalid component name ${quote(name)}`, Code.InvalidArgument);
  return name || undefined;
}

const deployResponse = (p: DeployProgress) => ({
  component: p.component,
  phase: PHASES[p.phase],
  message: p.message,
  container: p.container ?? "",
  image: p.image ?? "",
});

export function agentService(d: AgentServiceDeps): ServiceImpl<typeof AgentService> {
  const access = d.access ?? agentAccess(null);
  const own = d.controller.ownership;
  const streams = d.streams ?? new StreamLimits(Number.MAX_SAFE_INTEGER);
  // The replies have no field for it: the log says whose containers are left out (Status names the error).
  const allRuntimes = async (what: string): Promise<Runtime[]> => {
    const { runtimes, failed } = await d.runtimes.all();
    for (const [service, err] of failed) d.log.warn({ service, err }, `${what}: placement failed; this service's containers are left out`);
    return runtimes;
  };
  // A follow ends when its client goes away or the agent shuts down (a drain must not wait for it).
  const followSignal = (ctx: { signal: AbortSignal }) => (d.closing ? AbortSignal.any([ctx.signal, d.closing]) : ctx.signal);
  // Ended by a shutdown, a follow fails as Unavailable rather than ending: the client reconnects (with since).
  const shuttingDown = () => new ConnectError("the agent is shutting down; follow again when it is back", Code.Unavailable);
  const managed = { [LABELS.managed]: "true" };
  // List answers from the last listing while podman's events say nothing changed (runtime/list-cache.ts).
  const lists = d.events ? new ContainerListCache(d.events, managed) : undefined;
  const listOf = (rt: Runtime) => (lists ? lists.list(rt) : rt.list(managed));
  const usage = new StatsReader({ runtimes: () => allRuntimes("stats"), ownership: own, access, log: d.log });
  return {
    async health() {
      return { status: "ok", version: d.version, node: d.node, podmanVersion: await d.runtimes.shared.version().catch(() => "") };
    },

    async sync(req, ctx) {
      if (req.services.length > SYNC_LIMITS.services)
        throw new ConnectError(`services: ${req.services.length} given; at most ${SYNC_LIMITS.services} per Sync`, Code.InvalidArgument);
      const machines = Object.keys(req.machineRegistry).length;
      if (machines > SYNC_LIMITS.machines)
        throw new ConnectError(`machine_registry: ${machines} entries given; at most ${SYNC_LIMITS.machines} (numbers 00-99)`, Code.InvalidArgument);
      const defs = req.services.map(definitionFromProto); // validate all before storing any
      for (const def of defs) access.check(ctx, "agent:deploy", def.name);
      const registry = new Map(Object.entries(req.machineRegistry));
      if (registry.size) access.check(ctx, "agent:admin", "");
      if (registry.size) {
        const { parseMachineRegistry, formatMachineRegistry } = await import("../../lib/smep/smep.ts");
        await guard(async () => parseMachineRegistry(formatMachineRegistry(registry), "synced machine registry")); // same checks as the file
      }
      // Everything is checked (against the new registry) before anything is stored.
      await guard(async () => {
        for (const def of defs) await d.controller.planner.validate(def, registry.size ? registry : undefined);
      });
      if (registry.size) await d.store.replaceMachineRegistry(registry);
      const results = [];
      for (const def of defs) results.push({ service: def.name, outcome: await d.store.putDefinition(def) });
      return { results };
    },

    async *deploy(req, ctx) {
      const def = req.definition ? definitionFromProto(req.definition) : undefined;
      if (def && req.service && req.service !== def.name)
        throw new ConnectError(`service ${quote(req.service)} does not match the definition's name ${def.name}`, Code.InvalidArgument);
      const service = checkService(req.service || def?.name || "");
      access.check(ctx, "agent:deploy", service);
      const progress = d.releases ? recordedDeploy({ ...d, releases: d.releases }, ctx, service, def) : d.controller.deploy(service, def);
      try {
        for await (const p of progress) yield deployResponse(p);
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async history(req, ctx) {
      const service = checkService(req.service);
      access.check(ctx, "agent:read", service);
      const releases = d.releases ? await guard(() => d.releases!.list(service, req.limit || undefined)) : [];
      return { service, releases: releases.map(releaseToProto) };
    },

    async *rollback(req, ctx) {
      const service = checkService(req.service);
      access.check(ctx, "agent:deploy", service);
      if (!d.releases) throw new ConnectError("this agent keeps no releases", Code.Unimplemented);
      const target = await rollbackTarget(d.releases, service, req.release);
      yield { msg: { case: "release", value: releaseToProto(target) } };
      try {
        for await (const p of recordedDeploy({ ...d, releases: d.releases }, ctx, service, pinnedDefinition(target), target.number)) {
          yield { msg: { case: "progress", value: deployResponse(p) } };
        }
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async stop(req, ctx) {
      access.check(ctx, "agent:deploy", checkService(req.service));
      return guard(async () => ({ components: await d.controller.stop(checkService(req.service), checkComponent(req.component)) }));
    },
    async start(req, ctx) {
      access.check(ctx, "agent:deploy", checkService(req.service));
      return guard(async () => ({ components: await d.controller.start(checkService(req.service), checkComponent(req.component)) }));
    },
    async restart(req, ctx) {
      access.check(ctx, "agent:deploy", checkService(req.service));
      return guard(async () => ({ components: await d.controller.restart(checkService(req.service), checkComponent(req.component)) }));
    },
    async remove(req, ctx) {
      access.check(ctx, "agent:admin", checkService(req.service));
      return guard(async () => ({ removedContainers: await d.controller.remove(checkService(req.service)) }));
    },

    async list(_req, ctx) {
      return guard(async () => {
        const ports = await d.store.ports();
        const containers: ContainerInfo[] = [];
        for (const rt of await allRuntimes("list")) containers.push(...(await own.mine(await listOf(rt))));
        // Only the services the caller may read; one who may read none of them is told so.
        const visible = containers.filter((c) => access.may(ctx, "agent:read", c.labels[LABELS.service] ?? ""));
        if (containers.length && !visible.length) access.check(ctx, "agent:read", containers[0]!.labels[LABELS.service] ?? "");
        return {
          containers: visible.map((c) => {
            const service = c.labels[LABELS.service] ?? "";
            const component = c.labels[LABELS.component] ?? "";
            return {
              service,
              component,
              container: c.name,
              image: c.image,
              version: c.version,
              state: c.state,
              startedAt: c.startedAt ?? "",
              ports: publishedPorts(
                c,
                ports.filter((p) => p.service === service && p.component === component),
              ),
            };
          }),
        };
      });
    },

    async status(req, ctx) {
      access.check(ctx, "agent:read", checkService(req.service));
      return guard(async () => {
        const service = checkService(req.service);
        const s = await serviceStatus(d, service);
        const sp = s.placement;
        const placement = sp && {
          sheet: sp.placement.sheet,
          sheetNumber: sp.placement.sheetNumber,
          machineNumber: sp.placement.machineNumber,
          environment: sp.placement.environment,
          uid: sp.placement.uid,
          user: sp.placement.user,
          ports: sp.placement.ports,
          storageRoot: sp.storage.path,
          isolation: sp.isolation,
          ephemeralPorts: sp.ephemeral,
        };
        const components = s.components.map((c) => ({ ...c, drift: c.drift ?? "" }));
        return {
          service,
          version: s.version,
          active: s.active,
          components,
          recentEvents: s.recentEvents,
          unknownContainers: s.unknownContainers,
          placement,
          ...(await publishStatus(d.publisher, service)),
        };
      });
    },

    async *logs(req, ctx) {
      const service = checkService(req.service);
      access.check(ctx, "agent:read", service);
      const def = await guard(() => d.controller.definitionOf(service));
      const component = checkComponent(req.component) ?? def.components[0]!.name;
      if (!def.components.some((c) => c.name === component)) throw new ConnectError(`service ${service} has no component ${component}`, Code.NotFound);
      if (req.tail < 0) throw new ConnectError("tail must not be negative", Code.InvalidArgument);
      const badSince = logSinceProblem(req.since); // podman's own parse error would answer Internal
      if (badSince) throw new ConnectError(badSince, Code.InvalidArgument);
      const { runtime } = await guard(() => d.runtimes.forService(service));
      const container = d.controller.containerOf(service, component);
      await guard(() => own.ownNamed(runtime, container, "its logs are not shown"));
      const done = req.follow ? streams.acquire(access.subjectOf(ctx)) : () => {};
      const signal = followSignal(ctx);
      const lines = runtime.logs(
        container,
        { follow: req.follow, tail: req.tail || undefined, since: req.since || undefined, timestamps: req.timestamps },
        signal,
      );
      try {
        for await (const l of lines) yield { component, stream: l.stream === "stderr" ? LogStream.STDERR : LogStream.STDOUT, line: l.line };
      } catch (err) {
        if (!signal.aborted) throw toConnectError(err);
      } finally {
        done();
      }
      if (d.closing?.aborted && !ctx.signal.aborted) throw shuttingDown();
    },

    async *events(req, ctx) {
      const labels: Record<string, string> = { [LABELS.managed]: "true" };
      if (req.service) {
        labels[LABELS.service] = checkService(req.service);
        access.check(ctx, "agent:read", req.service);
      } else {
        // Every service's events, filtered to those the caller may read: one who may read none
        // of this node's services is refused rather than kept on an empty stream.
        const names = (await d.store.definitions().catch(() => [])).map((def) => def.name);
        if (names.length && !names.some((n) => access.may(ctx, "agent:read", n))) access.check(ctx, "agent:read", names[0]!);
      }
      const sources = req.service ? [(await guard(() => d.runtimes.forService(req.service))).runtime] : await allRuntimes("events");
      const done = streams.acquire(access.subjectOf(ctx));
      const signal = followSignal(ctx);
      const watch = (rt: Runtime) => (d.events ? d.events.watch(rt, labels, signal) : rt.events(labels, signal));
      try {
        for await (const e of mergeStreams<RuntimeEvent>(sources.map(watch))) {
          if (!(await own.owns({ name: e.containerName, labels: e.labels }))) continue;
          const service = e.labels[LABELS.service] ?? "";
          if (!req.service && !access.may(ctx, "agent:read", service)) continue;
          yield { time: e.time, service, component: e.labels[LABELS.component] ?? "", container: e.containerName, action: e.action };
        }
      } catch (err) {
        if (!signal.aborted) throw toConnectError(err);
      } finally {
        done();
      }
      if (d.closing?.aborted && !ctx.signal.aborted) throw shuttingDown();
    },

    async stats(req, ctx) {
      return guard(() => usage.read(req.service, ctx, req.containers));
    },

    async pruneImages(req, ctx) {
      access.check(ctx, "agent:admin", ""); // images belong to no one service
      if (req.olderThanSeconds < 0n) throw new ConnectError("older_than_seconds must not be negative", Code.InvalidArgument);
      const deps = { runtimes: d.runtimes, store: d.store, imagesOf: (def: ServiceDefinition) => d.controller.planner.imagesOf(def), log: d.log };
      return guard(() => pruneImages(deps, { olderThanSeconds: Number(req.olderThanSeconds), dryRun: req.dryRun }));
    },

    exec(requests, ctx) {
      const deps = { ...d, access, streams, audit: d.execAudit, toConnectError };
      return execStream(deps, requests, ctx);
    },

    async describe(req, ctx) {
      return guard(() => describeService({ ...d, access }, req, ctx));
    },
  };
}
