// Turns a service definition into the containers that should run: image,
// ports and $PORT variables, volumes, env file, labels, and a hash of all of
// it so that a redeploy recreates only components whose container would differ.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseVolume, type ComponentDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import type { ContainerSpec } from "../runtime/runtime.ts";
import type { PortAssignment } from "../state/store.ts";

export const LABELS = {
  managed: "mcp.managed",
  service: "mcp.service",
  component: "mcp.component",
  version: "mcp.version",
  hash: "mcp.hash",
} as const;

export interface PlanContext {
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
  hash: string;
}

export class PlanError extends Error {
  override name = "PlanError";
}

/** The key a route's port assignment is stored under. */
export const routeKey = (name: string) => name || "default";

export function containerName(service: string, component: string): string {
  return `${service}-${component}`;
}

export function resolveImage(def: ServiceDefinition, c: ComponentDefinition, registryHost: string): string {
  let image = c.image;
  if (!image) {
    if (!registryHost) throw new PlanError(`${def.name}/${c.name}: no image given and the agent has no [registry] host to derive one`);
    // Seed 000 §2: <service> for the api component, <service>-<component> for others.
    image = `${registryHost}/${c.name === "api" ? def.name : `${def.name}-${c.name}`}`;
  }
  const lastSlash = image.lastIndexOf("/");
  const hasTag = image.includes("@") || image.slice(lastSlash + 1).includes(":");
  return hasTag ? image : `${image}:${c.version || def.version}`;
}

function underRoot(path: string, roots: string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(r.endsWith("/") ? r : `${r}/`));
}

function planComponent(def: ServiceDefinition, c: ComponentDefinition, ports: PortAssignment[], ctx: PlanContext): PlannedComponent {
  const container = containerName(def.name, c.name);
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

  const volumes = c.volumes.length ? c.volumes : [`${join(ctx.storageRoot, def.name)}:/srv/${def.name}`];
  const hostDirs: string[] = [];
  for (const v of volumes) {
    const { host } = parseVolume(v, `${def.name}/${c.name} volume`);
    if (!underRoot(host, ctx.allowedVolumeRoots)) {
      throw new PlanError(`${def.name}/${c.name}: volume host path ${host} is outside the allowed roots (${ctx.allowedVolumeRoots.join(", ")})`);
    }
    hostDirs.push(host);
  }
  // The container listens on $PORT itself, so host and container ports are the same number.
  const publish = network === "host" ? [] : assigned.map((a) => `${ctx.publishAddress}:${a.hostPort}:${a.hostPort}`);
  const material = { image, network, user: c.user, restart: c.restart, ports: publish, volumes, env, cmd: c.cmd };
  const hash = createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 16);
  const spec: ContainerSpec = {
    name: container,
    image,
    network: network || undefined,
    user: c.user || undefined,
    restart: c.restart,
    ports: publish,
    volumes,
    envFile: join(ctx.envDir, `${container}.env`),
    labels: {
      [LABELS.managed]: "true",
      [LABELS.service]: def.name,
      [LABELS.component]: c.name,
      [LABELS.version]: image.slice(image.lastIndexOf(":") + 1),
      [LABELS.hash]: hash,
    },
    cmd: c.cmd,
  };
  return { component: c.name, container, image, spec, env, ports: assigned.map(({ route, hostPort }) => ({ route, hostPort })), hostDirs, hash };
}

export function planService(def: ServiceDefinition, ports: PortAssignment[], ctx: PlanContext): PlannedComponent[] {
  return def.components.map((c) => planComponent(def, c, ports, ctx));
}

/** KEY=value lines for podman --env-file (values are single-line, checked by the definition). */
export function envFileText(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}\n`)
    .join("");
}
