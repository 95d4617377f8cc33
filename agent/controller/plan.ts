// Turns a service definition into the containers that should run: image,
// ports and $PORT variables, volumes, env file, labels, and a hash of all of
// it so that a redeploy recreates only components whose container would differ.
import { extractVersion } from "../runtime/podman-json.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseVolume, type ComponentDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import type { ContainerSpec } from "../runtime/runtime.ts";
import type { PortAssignment } from "../state/store.ts";
import type { Placement } from "../../lib/smep/smep.ts";
import { underRoot, type MountScope } from "./mount-scope.ts";

/** What SMEP placement adds to a plan. */
export interface SmepPlan {
  placement: Placement;
  /** The service-environment's storage root (local or NFS mount). */
  storageRoot: string;
  /** Rootful isolation runs the container as the SMEP UID with --user. */
  rootful: boolean;
  /** Rootless: env files live in the service user's home (its podman reads them), owned by its UID. */
  envDir?: string;
  /** The home that envDir lies below: the service can change everything under it. */
  envBase?: string;
}

export const LABELS = {
  managed: "mcp.managed",
  /** The id of the agent that made the container (controller/ownership.ts). */
  agent: "mcp.agent",
  /** That agent's [node] name, for messages naming who holds a container. */
  node: "mcp.node",
  service: "mcp.service",
  component: "mcp.component",
  version: "mcp.version",
  hash: "mcp.hash",
} as const;

/** The agent whose containers these are: labelled on each, and the prefix of their names. */
export interface AgentIdentity {
  /** Made once and kept in the state database (StateStore.agentId). */
  id: string;
  /** [node] name. */
  node: string;
  /** [runtime] container_prefix: "" on an installed node; each `mcp up` home and test agent has its own. */
  containerPrefix: string;
}

export interface PlanContext {
  identity: AgentIdentity;
  /** host:port of the registry for convention-derived image names. */
  registryHost: string;
  publishAddress: string;
  defaultNetwork: string;
  storageRoot: string;
  allowedVolumeRoots: string[];
  /** Folder for the containers' env files. */
  envDir: string;
}

export interface PlannedComponent {
  component: string;
  container: string;
  image: string;
  spec: ContainerSpec;
  env: Record<string, string>;
  ports: { route: string; hostPort: number }[];
  /** Host folders the volumes need (created before the container). */
  hostDirs: string[];
  /** Where the volume sources may be and are checked from before every start (mount-check.ts). */
  mounts: MountScope;
  /** Rootless service users: the UID that must own the env file, and the home its folder lies below. */
  envOwner?: { uid: number; base: string };
  hash: string;
}

export class PlanError extends Error {
  override name = "PlanError";
}

/** The key a route's port assignment is stored under. */
export const routeKey = (name: string) => name || "default";

/** `<prefix><service>-<component>`: the prefix keeps agents that share a podman from wanting the same name. */
export function containerName(prefix: string, service: string, component: string): string {
  return `${prefix}${service}-${component}`;
}

/** The container a redeploy makes beside `container` and renames into place once it runs. */
export function replacementName(container: string): string {
  return `${container}-next`;
}

export function resolveImage(def: ServiceDefinition, c: ComponentDefinition, registryHost: string): string {
  let image = c.image;
  if (!image) {
    if (!registryHost) throw new PlanError(`${def.name}/${c.name}: no image given and the agent has no [registry] host to derive one`);
    // docs/service-definitions.md: <service> for the api component, <service>-<component> for others.
    image = `${registryHost}/${c.name === "api" ? def.name : `${def.name}-${c.name}`}`;
  }
  const lastSlash = image.lastIndexOf("/");
  const hasTag = image.includes("@") || image.slice(lastSlash + 1).includes(":");
  return hasTag ? image : `${image}:${c.version || def.version}`;
}

function planComponent(def: ServiceDefinition, c: ComponentDefinition, ports: PortAssignment[], ctx: PlanContext, smep?: SmepPlan): PlannedComponent {
  const container = containerName(ctx.identity.containerPrefix, def.name, c.name);
  const image = resolveImage(def, c, ctx.registryHost);
  const network = c.network || ctx.defaultNetwork;
  const assigned = c.routes.map((r) => {
    const a = ports.find((p) => p.component === c.name && p.route === routeKey(r.name));
    if (!a) throw new PlanError(`${def.name}/${c.name}: route ${routeKey(r.name)} has no port assigned`);
    return { route: routeKey(r.name), name: r.name, hostPort: a.hostPort };
  });
  const env: Record<string, string> = { ...c.env };
  if (assigned.length === 1) env.PORT = String(assigned[0]!.hostPort);
  else for (const a of assigned) env[`PORT_${a.name.toUpperCase()}`] = String(a.hostPort);
  if (smep) {
    // SMEP (docs/smep.md): the service's UID and all ten of its ports.
    const p = smep.placement;
    env.TIN_SHEET = p.sheet;
    env.TIN_SERVICE_NAME = def.name;
    env.TIN_SERVICE_ENVIRONMENT = p.environment;
    env.TIN_SERVICE_UID = String(p.uid);
    p.ports.forEach((port, i) => (env[`TIN_PORT_${i}`] = String(port)));
  }

  const defaultRoot = smep ? smep.storageRoot : join(ctx.storageRoot, def.name);
  const volumes = c.volumes.length ? c.volumes : [`${defaultRoot}:/srv/${def.name}`];
  const roots = smep ? [...ctx.allowedVolumeRoots, smep.storageRoot] : ctx.allowedVolumeRoots;
  const hostDirs: string[] = [];
  for (const v of volumes) {
    const { host } = parseVolume(v, `${def.name}/${c.name} volume`);
    if (!underRoot(host, roots)) {
      throw new PlanError(`${def.name}/${c.name}: volume host path ${host} is outside the allowed roots (${roots.join(", ")})`);
    }
    // The SMEP storage root is prepared (owned by its UID, maybe NFS) by the placer, not here.
    if (!(smep && underRoot(host, [smep.storageRoot]))) hostDirs.push(host);
  }
  const user = c.user || (smep?.rootful ? `${smep.placement.uid}:${smep.placement.uid}` : "");
  // The container listens on $PORT itself, so host and container ports are the same number.
  const publish = network === "host" ? [] : assigned.map((a) => `${ctx.publishAddress}:${a.hostPort}:${a.hostPort}`);
  const material = { image, network, user, restart: c.restart, ports: publish, volumes, env, cmd: c.cmd };
  const hash = createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 16);
  const spec: ContainerSpec = {
    name: container,
    image,
    network: network || undefined,
    user: user || undefined,
    restart: c.restart,
    ports: publish,
    volumes,
    envFile: join(smep?.envDir ?? ctx.envDir, `${container}.env`),
    labels: {
      [LABELS.managed]: "true",
      [LABELS.agent]: ctx.identity.id,
      [LABELS.node]: ctx.identity.node,
      [LABELS.service]: def.name,
      [LABELS.component]: c.name,
      // The image's tag; a digest-pinned image (a rollback) has none: the definition's version.
      [LABELS.version]: extractVersion(image) || c.version || def.version,
      [LABELS.hash]: hash,
    },
    cmd: c.cmd,
  };
  const mounts: MountScope = smep ? { roots, storageRoot: smep.storageRoot } : { roots };
  const planned: PlannedComponent = {
    component: c.name,
    container,
    image,
    spec,
    env,
    ports: assigned.map(({ route, hostPort }) => ({ route, hostPort })),
    hostDirs,
    mounts,
    hash,
  };
  if (smep?.envDir) planned.envOwner = { uid: smep.placement.uid, base: smep.envBase ?? smep.envDir };
  return planned;
}

export function planService(def: ServiceDefinition, ports: PortAssignment[], ctx: PlanContext, smep?: SmepPlan): PlannedComponent[] {
  return def.components.map((c) => planComponent(def, c, ports, ctx, smep));
}

/** KEY=value lines for podman --env-file (values are single-line, checked by the definition). */
export function envFileText(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}\n`)
    .join("");
}
