// Parsers of podman 4.3's container JSON: an inspect document and a list entry, which the
// API (`GET /libpod/containers/{name}/json`, `GET /libpod/containers/json`) and the CLI
// (`podman inspect`, `podman ps --format json`) print alike. No I/O here, so all of it is
// unit-tested against captured output.
import type { ContainerDetails, ContainerInfo, MountInfo, PortBinding } from "./runtime.ts";

/**
 * The tag of an image reference: "registry:5000/svc/api:v1.2.0" → "v1.2.0".
 * "" when there is no tag (a ':' before the last '/' is a registry port) or when
 * the reference is pinned by digest (`@sha256:...`).
 */
/** The image's tag, or for a digest-pinned image (a rollback) the version the agent labelled it with. */
const versionOf = (image: string, labels: Record<string, string>) => extractVersion(image) || (labels["mcp.version"] ?? "");

export function extractVersion(image: string): string {
  if (image.includes("@")) return "";
  const lastSlash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > lastSlash ? image.slice(colon + 1) : "";
}

/** Podman prints Go's zero time for "never"; anything before 1971 is treated as unset. */
export function isoTime(value: unknown): string | undefined {
  let ms: number;
  if (typeof value === "number")
    ms = value * 1000; // ps: Unix seconds
  else if (typeof value === "string" && value !== "") ms = Date.parse(value);
  else return undefined;
  if (!Number.isFinite(ms) || ms < 365 * 24 * 3600 * 1000) return undefined;
  return new Date(ms).toISOString();
}

export function toLabels(value: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) labels[k] = String(v);
  }
  return labels;
}

// Plain code-unit order (localeCompare ignores the punctuation in "::1").
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortPorts(ports: PortBinding[]): PortBinding[] {
  return ports.sort((a, b) => a.containerPort - b.containerPort || cmp(a.protocol, b.protocol) || cmp(a.hostIp, b.hostIp) || a.hostPort - b.hostPort);
}

type InspectPortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined;

/**
 * Inspect's port map (`{"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}`)
 * as bindings. Exposed but unpublished ports (`"7000/tcp": null`) are left out.
 * A HostIp of "" means every address, as podman prints it.
 */
export function parsePortBindings(map: InspectPortMap): PortBinding[] {
  const ports: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(map ?? {})) {
    const [port = "", protocol = "tcp"] = key.split("/");
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      ports.push({ hostIp: b.HostIp ?? "", hostPort, containerPort: Number(port), protocol });
    }
  }
  return sortPorts(ports);
}

// The subset of `podman inspect` (4.3) this module reads.
export interface InspectJson {
  Id: string;
  Name: string;
  Created?: string;
  /** The image's id. */
  Image?: string;
  ImageDigest?: string;
  ImageName?: string;
  State?: { Status?: string; StartedAt?: string; FinishedAt?: string; ExitCode?: number };
  Config?: {
    Image?: string;
    Labels?: Record<string, string> | null;
    Cmd?: string[] | null;
    /** podman 4 prints the entrypoint joined into one string; the Docker-compatible API an array. */
    Entrypoint?: string | string[] | null;
    User?: string;
    WorkingDir?: string;
  };
  HostConfig?: { PortBindings?: InspectPortMap; RestartPolicy?: { Name?: string; MaximumRetryCount?: number }; NetworkMode?: string };
  RestartCount?: number;
  NetworkSettings?: { Ports?: InspectPortMap; Networks?: Record<string, unknown> | null };
  Mounts?: Array<{ Type?: string; Source?: string; Destination?: string; Options?: string[] | null; RW?: boolean }> | null;
}

/** `--restart` as podman stores it: "" is no policy; on-failure with its retries. */
function restartPolicyOf(p: { Name?: string; MaximumRetryCount?: number } | undefined): string {
  const name = p?.Name || "no";
  return name === "on-failure" && p?.MaximumRetryCount ? `${name}:${p.MaximumRetryCount}` : name;
}

/** What inspect says beyond a list entry: the image's id and digest, command, mounts, policy, times. */
export function inspectDetails(c: InspectJson): ContainerDetails {
  const entrypoint = c.Config?.Entrypoint;
  const networks = Object.keys(c.NetworkSettings?.Networks ?? {});
  const mounts = (c.Mounts ?? []).map(
    (m): MountInfo => ({
      type: m.Type ?? "",
      source: m.Source ?? "",
      destination: m.Destination ?? "",
      options: [...(m.Options ?? [])],
      readWrite: m.RW ?? true,
    }),
  );
  return {
    imageId: c.Image ?? "",
    imageDigest: c.ImageDigest ?? "",
    createdAt: isoTime(c.Created) ?? "",
    finishedAt: isoTime(c.State?.FinishedAt) ?? "",
    entrypoint: Array.isArray(entrypoint) ? [...entrypoint] : entrypoint ? [entrypoint] : [],
    cmd: [...(c.Config?.Cmd ?? [])],
    user: c.Config?.User ?? "",
    workingDir: c.Config?.WorkingDir ?? "",
    restartPolicy: restartPolicyOf(c.HostConfig?.RestartPolicy),
    network: networks.length ? networks.sort().join(",") : (c.HostConfig?.NetworkMode ?? ""),
    mounts,
  };
}

// A finished container has a meaningful exit code; a created or running one does not.
const FINISHED = new Set(["exited", "stopped", "dead"]);

export function fromInspect(c: InspectJson): ContainerInfo {
  const image = c.ImageName || c.Config?.Image || "";
  const state = c.State?.Status ?? "unknown";
  // NetworkSettings.Ports is what is bound; HostConfig.PortBindings what was asked for.
  const netPorts = c.NetworkSettings?.Ports;
  const ports = parsePortBindings(netPorts && Object.keys(netPorts).length > 0 ? netPorts : c.HostConfig?.PortBindings);
  const info: ContainerInfo = {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image,
    state,
    labels: toLabels(c.Config?.Labels),
    ports,
    version: "",
  };
  info.version = versionOf(image, info.labels);
  const startedAt = isoTime(c.State?.StartedAt);
  if (startedAt) info.startedAt = startedAt;
  if (FINISHED.has(state) && typeof c.State?.ExitCode === "number") info.exitCode = c.State.ExitCode;
  if (typeof c.RestartCount === "number") info.restartCount = c.RestartCount;
  const binds = (c.Mounts ?? []).filter((m) => m.Type === "bind" && m.Source).map((m) => m.Source!);
  if (binds.length) info.bindSources = binds;
  info.details = inspectDetails(c);
  return info;
}

/** `podman inspect NAME...` output (a JSON array) as ContainerInfo, one per container. */
export function parseInspect(json: string): ContainerInfo[] {
  const parsed = JSON.parse(json) as InspectJson[] | null;
  return (parsed ?? []).map(fromInspect);
}

// The subset of `podman ps -a --format json` (4.3) this module reads.
export interface PsJson {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  State?: string;
  StartedAt?: number;
  Exited?: boolean;
  ExitCode?: number;
  Labels?: Record<string, string> | null;
  Ports?: Array<{ host_ip?: string; container_port: number; host_port: number; range?: number; protocol?: string }> | null;
}

export function fromPs(c: PsJson): ContainerInfo {
  const image = c.Image ?? "";
  const state = c.State ?? "unknown";
  const ports: PortBinding[] = [];
  for (const p of c.Ports ?? []) {
    // ps folds a published range (-p 19000-19001:9000-9001) into one entry with range=N.
    for (let i = 0; i < Math.max(1, p.range ?? 1); i++) {
      ports.push({ hostIp: p.host_ip ?? "", hostPort: p.host_port + i, containerPort: p.container_port + i, protocol: p.protocol ?? "tcp" });
    }
  }
  const info: ContainerInfo = {
    id: c.Id,
    name: c.Names?.[0] ?? "",
    image,
    state,
    labels: toLabels(c.Labels),
    ports: sortPorts(ports),
    version: "",
  };
  info.version = versionOf(image, info.labels);
  const startedAt = isoTime(c.StartedAt);
  if (startedAt) info.startedAt = startedAt;
  if ((c.Exited || FINISHED.has(state)) && typeof c.ExitCode === "number") info.exitCode = c.ExitCode;
  return info;
}

/** `podman ps -a --format json` output as ContainerInfo (podman prints `[]` when there are none). */
export function parsePs(json: string): ContainerInfo[] {
  const trimmed = json.trim();
  if (trimmed === "") return [];
  const parsed = JSON.parse(trimmed) as PsJson[] | null;
  return (parsed ?? []).map(fromPs);
}

/** Whether `have` includes every key=value of `want`. */
export function hasLabels(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}
