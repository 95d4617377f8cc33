// Describe: one service's components in detail, as an operator would read them (`mcp
// describe`): the container and its id, state, the image as deployed with podman's id and
// digest for it, command, environment, mounts, ports, labels, restart policy and count,
// times, exit code, and the service's SMEP placement. Only this agent's containers are
// described: another agent's under a component's name is named as such, its details left out.
// A component without a container is described from its plan (what a deploy would make).
//
// The environment is never read from podman (whose inspect holds the values): it comes from
// the agent's own env file of the container, or from the plan, and every variable whose name
// looks like a secret's is masked here, so its value never leaves the agent.
import { basename, dirname, relative } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { NAME_RE, type ComponentDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { quote } from "../../lib/text/quote.ts";
import type {
  ComponentDescriptionSchema,
  DescribedEnvVarSchema,
  DescribedMountSchema,
  DescribedPortSchema,
  DescribeRequest,
  DescribeResponseSchema,
} from "../../proto/gen/mcp/agent/v1/describe_pb.ts";
import type { ServiceController } from "../controller/controller.ts";
import { inspectOrAbsent } from "../controller/ownership.ts";
import type { PlannedComponent } from "../controller/plan.ts";
import type { ServicePlan } from "../controller/planner.ts";
import type { ServicePlacement } from "../placement/placer.ts";
import { readFileIn, withServiceDir } from "../placement/safe-fs.ts";
import { bindMount, parseEnvFile, portMapping } from "../runtime/api-translate.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { ContainerInfo, Runtime } from "../runtime/runtime.ts";
import type { PortAssignment, StateStore, StoredComponent } from "../state/store.ts";
import type { Access } from "./access.ts";

export interface DescribeDeps {
  controller: ServiceController;
  store: StateStore;
  runtimes: RuntimeProvider;
  access: Access;
  /** The agent's [node] name. */
  node: string;
}

type Response = MessageInitShape<typeof DescribeResponseSchema>;
type Description = MessageInitShape<typeof ComponentDescriptionSchema>;
type EnvVar = MessageInitShape<typeof DescribedEnvVarSchema>;
type Mount = MessageInitShape<typeof DescribedMountSchema>;
type Port = MessageInitShape<typeof DescribedPortSchema>;

/** Names of variables whose values are never shown (docs/agent.md, "Describe"). */
export const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|PRIVATE)/i;
export const MASKED = "***";

/** An env file is a few KB; one larger than this is not what the agent wrote. */
const ENV_FILE_MAX_BYTES = 1 << 20;

/** `env` sorted by name, each value masked when its name looks like a secret's; and how many were. */
export function maskEnv(env: Record<string, string>): { vars: EnvVar[]; masked: number } {
  const vars = Object.keys(env)
    .sort()
    .map((name): EnvVar => (SECRET_NAME.test(name) ? { name, value: MASKED, masked: true } : { name, value: env[name]!, masked: false }));
  return { vars, masked: vars.filter((v) => v.masked).length };
}

/** A container's env file as the agent wrote it; in a service user's home, read without following a link. */
function readEnvFile(p: PlannedComponent): Record<string, string> {
  const path = p.spec.envFile!;
  const base = p.envOwner?.base ?? dirname(path);
  const text = withServiceDir(base, relative(base, dirname(path)), null, (fd) => readFileIn(fd, basename(path), ENV_FILE_MAX_BYTES));
  return parseEnvFile(text.toString("utf8"));
}

const mountOf = (volume: string): Mount => {
  const m = bindMount(volume);
  return { type: m.type, source: m.source, destination: m.destination, options: m.options, readWrite: !m.options.includes("ro") };
};

/** A route's host port: as recorded, or as the plan assigns it. */
type RoutePort = { route: string; hostPort: number };

const routeOf = (ports: RoutePort[], hostPort: number) => ports.find((p) => p.hostPort === hostPort)?.route ?? "";

/** What the container of this agent says of itself (podman's inspect), with the env from the agent's file. */
function fromContainer(info: ContainerInfo, p: PlannedComponent | undefined, ports: RoutePort[], d: Description): void {
  const x = info.details;
  d.containerId = info.id;
  d.state = info.state;
  d.image = info.image;
  d.imageId = x?.imageId ?? "";
  d.imageDigest = x?.imageDigest ?? "";
  d.entrypoint = x?.entrypoint ?? [];
  d.command = x?.cmd ?? [];
  d.mounts = (x?.mounts ?? []).map((m) => ({ ...m }));
  d.ports = info.ports.map((b) => ({
    hostIp: b.hostIp,
    hostPort: b.hostPort,
    containerPort: b.containerPort,
    protocol: b.protocol,
    route: routeOf(ports, b.hostPort),
  }));
  d.labels = { ...info.labels };
  d.restartPolicy = x?.restartPolicy ?? "";
  d.restartCount = info.restartCount ?? 0;
  d.createdAt = x?.createdAt ?? "";
  d.startedAt = info.startedAt ?? "";
  if (info.exitCode !== undefined) {
    d.exitCode = info.exitCode;
    d.finishedAt = x?.finishedAt ?? "";
  }
  d.user = x?.user ?? "";
  d.network = x?.network ?? "";
  d.workingDir = x?.workingDir ?? "";
  if (!p) return;
  try {
    const env = maskEnv(readEnvFile(p));
    Object.assign(d, { env: env.vars, maskedEnv: env.masked, envSource: "env_file" });
  } catch (err) {
    d.notes!.push(`its env file ${p.spec.envFile} cannot be read (${(err as Error).message}): the environment shown is planned from the definition`);
  }
}

/** What a deploy would make of the component (its plan), or the definition alone when it cannot be planned. */
function fromPlan(c: ComponentDefinition, p: PlannedComponent | undefined, ports: RoutePort[], d: Description): void {
  if (!p) {
    d.command = [...c.cmd];
    d.mounts = c.volumes.map(mountOf);
    d.restartPolicy = c.restart;
    d.user = c.user;
    d.network = c.network;
    return;
  }
  d.image = p.image;
  d.command = [...p.spec.cmd];
  d.mounts = p.spec.volumes.map(mountOf);
  d.ports = p.spec.ports.map((spec): Port => {
    const m = portMapping(spec);
    return { hostIp: m.host_ip ?? "", hostPort: m.host_port, containerPort: m.container_port, protocol: m.protocol, route: routeOf(ports, m.host_port) };
  });
  d.labels = { ...p.spec.labels };
  d.restartPolicy = p.spec.restart ?? "";
  d.user = p.spec.user ?? "";
  d.network = p.spec.network ?? "";
}

/** The env shown when the container's own file is not: planned (with $PORT and SMEP's), or the definition's. */
function plannedEnv(c: ComponentDefinition, p: PlannedComponent | undefined, d: Description): void {
  const env = maskEnv(p?.env ?? c.env);
  Object.assign(d, { env: env.vars, maskedEnv: env.masked, envSource: "definition" });
}

async function describeComponent(
  deps: DescribeDeps,
  ctx: { def: ServiceDefinition; plan: ServicePlan | undefined; stored: StoredComponent[]; ports: PortAssignment[]; runtime: Runtime },
  c: ComponentDefinition,
): Promise<Description> {
  const own = deps.controller.ownership;
  const container = deps.controller.containerOf(ctx.def.name, c.name);
  const planned = ctx.plan?.planned.find((x) => x.component === c.name);
  const ports: RoutePort[] = [...ctx.ports.filter((p) => p.component === c.name), ...(planned?.ports ?? [])];
  const want = ctx.stored.find((s) => s.name === c.name);
  const d: Description = { component: c.name, container, desiredState: want?.desired ?? "running", notes: [] };
  const found = await inspectOrAbsent(ctx.runtime, container);
  const info = found && (await own.owns(found)) ? found : undefined;
  if (found && !info) d.notes!.push(own.foreign(found, "its details are not shown").message);
  if (info) fromContainer(info, planned, ports, d);
  else {
    // Deployed once (the agent recorded it) but no container of its own: missing.
    d.state = want?.specHash ? "missing" : "not deployed";
    d.image = want?.image ?? "";
    fromPlan(c, planned, ports, d);
  }
  if (!d.envSource) plannedEnv(c, planned, d);
  return d;
}

const placementOf = (sp: ServicePlacement) => ({
  user: sp.placement.user,
  uid: sp.placement.uid,
  storageRoot: sp.storage.path,
  isolation: sp.isolation,
  environment: sp.placement.environment,
  ports: sp.placement.ports,
});

/** The Describe RPC (agent:read on the service). */
export async function describeService(deps: DescribeDeps, req: DescribeRequest, ctx: HandlerContext): Promise<Response> {
  const service = req.service;
  if (!NAME_RE.test(service)) throw new ConnectError(`invalid service name ${quote(service)}`, Code.InvalidArgument);
  if (req.component && !NAME_RE.test(req.component)) throw new ConnectError(`invalid component name ${quote(req.component)}`, Code.InvalidArgument);
  deps.access.check(ctx, "agent:read", service);
  const def = await deps.controller.definitionOf(service);
  const names = def.components.map((c) => c.name);
  if (req.component && !names.includes(req.component))
    throw new ConnectError(`service ${service} has no component ${req.component} (its components: ${names.join(", ")})`, Code.NotFound);
  const notes: string[] = [];
  let plan: ServicePlan | undefined;
  try {
    plan = await deps.controller.planner.planOf(def);
  } catch (err) {
    notes.push(`the definition cannot be planned now (${(err as Error).message}): a component without a container is described from the definition alone`);
  }
  let placement = plan?.placement;
  if (!plan) placement = await deps.controller.planner.placementOf(def).catch((err: Error) => void notes.push(`no placement: ${err.message}`));
  const { runtime } = await deps.runtimes.forService(service);
  const shared = { def, plan, stored: await deps.store.components(service), ports: await deps.store.ports(service), runtime };
  const components: Description[] = [];
  for (const c of def.components) if (!req.component || c.name === req.component) components.push(await describeComponent(deps, shared, c));
  return {
    service,
    version: def.version,
    active: def.active,
    node: deps.node,
    components,
    ...(placement ? { placement: placementOf(placement) } : {}),
    notes,
  };
}
