// Pure translation between the Runtime interface and podman 4.3's REST API (libpod):
// a ContainerSpec as the SpecGenerator that `POST /libpod/containers/create` takes (what
// `podman run`'s flags become inside podman), events, stats and images as the API answers
// them, and the 8-byte frame header of a non-TTY container's log or exec stream.
// No I/O here, so all of it is unit-tested against answers captured from podman.
import { isoTime, toLabels } from "./podman-json.ts";
import type { ContainerSpec, ContainerStats, ImageInfo, RuntimeEvent } from "./runtime.ts";

interface PortMapping {
  host_ip?: string;
  host_port: number;
  container_port: number;
  protocol: string;
}

/** `[ip:]hostPort:containerPort[/proto]` (an IPv6 ip in brackets) as podman's port mapping. */
export function portMapping(value: string): PortMapping {
  const fail = () => new Error(`port ${JSON.stringify(value)} is not [ip:]hostPort:containerPort[/protocol]`);
  const [main = "", protocol = "tcp"] = value.split("/");
  let hostIp: string | undefined;
  let rest = main;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(main);
  if (v6) [, hostIp, rest] = v6 as unknown as [string, string, string];
  const parts = rest.split(":");
  if (!v6 && parts.length === 3) hostIp = parts.shift();
  if (parts.length !== 2) throw fail();
  const [hostPort, containerPort] = parts.map(Number) as [number, number];
  if (!Number.isInteger(hostPort) || !Number.isInteger(containerPort) || hostPort < 0 || containerPort <= 0) throw fail();
  const m: PortMapping = { host_port: hostPort, container_port: containerPort, protocol };
  if (hostIp) m.host_ip = hostIp;
  return m;
}

interface Mount {
  type: "bind";
  source: string;
  destination: string;
  options: string[];
}

/** `host:container[:opt,opt]` as a bind mount (the agent only makes bind mounts of absolute host paths). */
export function bindMount(value: string): Mount {
  const [source = "", destination = "", options = ""] = value.split(":");
  if (!source.startsWith("/") || !destination.startsWith("/")) throw new Error(`volume ${JSON.stringify(value)} is not /host/path:/container/path[:options]`);
  return { type: "bind", source, destination, options: options ? options.split(",") : [] };
}

/** `--restart` as SpecGenerator's policy and retry count. */
function restartPolicy(restart: string): { restart_policy: string; restart_tries?: number } {
  const [policy = "no", tries] = restart.split(":");
  return tries === undefined ? { restart_policy: policy } : { restart_policy: policy, restart_tries: Number(tries) };
}

const NS_MODES = new Set(["host", "none", "private", "bridge", "slirp4netns"]);

/** `--network` as SpecGenerator's network namespace and networks. */
function network(name: string): Record<string, unknown> {
  if (NS_MODES.has(name)) return { netns: { nsmode: name } };
  if (name.startsWith("container:")) return { netns: { nsmode: "container", value: name.slice("container:".length) } };
  return { netns: { nsmode: "bridge" }, networks: { [name]: {} } };
}

/** KEY=value lines of an env file as podman reads them (blank lines and # comments skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue; // a bare KEY takes the caller's value, which an agent-made file never has
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** The SpecGenerator of `podman create` for a spec; `env` is its env file's content. */
export function specGenerator(spec: ContainerSpec, env: Record<string, string>): Record<string, unknown> {
  const s: Record<string, unknown> = {
    name: spec.name,
    image: spec.image,
    labels: spec.labels,
    portmappings: spec.ports.map(portMapping),
    mounts: spec.volumes.map(bindMount),
    env,
    ...restartPolicy(spec.restart ?? "no"),
  };
  if (spec.network) Object.assign(s, network(spec.network));
  if (spec.user) s.user = spec.user;
  if (spec.cmd.length) s.command = spec.cmd;
  return s;
}

// Attributes podman adds to an event besides the container's labels.
const EVENT_ATTRIBUTES = new Set(["name", "image", "containerExitCode", "podId"]);

/**
 * One event of `GET /libpod/events` (`{"Type","Action","Actor":{"ID","Attributes"},"timeNano",…}`,
 * the labels among the attributes) as a RuntimeEvent; undefined for anything but a container's.
 */
export function apiEvent(e: Record<string, unknown>): RuntimeEvent | undefined {
  if (e.Type !== "container") return undefined;
  const action = String(e.Action ?? e.status ?? "");
  if (!action) return undefined;
  const actor = (e.Actor ?? {}) as { ID?: unknown; Attributes?: Record<string, unknown> };
  const attributes = toLabels(actor.Attributes);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (!EVENT_ATTRIBUTES.has(k)) labels[k] = v;
  return {
    time: (typeof e.timeNano === "number" ? isoTime(e.timeNano / 1e9) : isoTime(e.time)) ?? "",
    action,
    containerId: String(actor.ID ?? e.id ?? ""),
    containerName: attributes.name ?? "",
    image: attributes.image ?? String(e.from ?? ""),
    labels,
  };
}

/** One entry of `GET /libpod/containers/stats?stream=false` (podman 4.3). */
export interface StatsJson {
  ContainerID: string;
  Name: string;
  CPU?: number;
  CPUNano?: number;
  SystemNano?: number;
  MemUsage?: number;
  MemLimit?: number;
  NetInput?: number;
  NetOutput?: number;
  BlockInput?: number;
  BlockOutput?: number;
  PIDs?: number;
}

export interface CpuSample {
  cpuNano: number;
  systemNano: number;
}

/**
 * A stats entry as ContainerStats. With the previous sample of the same container the CPU %
 * is the share of one core used between the two (SystemNano is podman's clock); without
 * one, podman's own figure (the average since the container started).
 */
export function containerStats(s: StatsJson, previous: CpuSample | undefined): ContainerStats {
  let cpu = s.CPU ?? 0;
  if (previous && s.CPUNano !== undefined && s.SystemNano !== undefined && s.SystemNano > previous.systemNano) {
    cpu = (Math.max(0, s.CPUNano - previous.cpuNano) / (s.SystemNano - previous.systemNano)) * 100;
  }
  return {
    id: s.ContainerID,
    name: s.Name,
    cpuPercent: Math.round(cpu * 100) / 100,
    memUsedBytes: s.MemUsage ?? 0,
    memLimitBytes: s.MemLimit ?? 0,
    netInBytes: s.NetInput ?? 0,
    netOutBytes: s.NetOutput ?? 0,
    blockInBytes: s.BlockInput ?? 0,
    blockOutBytes: s.BlockOutput ?? 0,
    pids: s.PIDs ?? 0,
  };
}

/** One entry of `GET /libpod/images/json`. */
export function imageInfo(i: {
  Id?: string;
  Names?: string[] | null;
  RepoTags?: string[] | null;
  Created?: number;
  Size?: number;
  Containers?: number;
}): ImageInfo {
  return {
    id: i.Id ?? "",
    names: (i.Names ?? i.RepoTags ?? []).filter((n) => n && n !== "<none>:<none>"),
    created: isoTime(i.Created) ?? "",
    sizeBytes: i.Size ?? 0,
    containers: i.Containers ?? 0,
  };
}

/**
 * Splits a multiplexed stream (each frame: 1 byte stream, 3 zero bytes, 4 bytes big-endian
 * length, then the payload) into frames as they complete; bytes of an unfinished frame wait
 * for the next chunk.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ stream: "stdout" | "stderr"; data: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Array<{ stream: "stdout" | "stderr"; data: Buffer }> = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const type = this.pending[0];
      frames.push({ stream: type === 2 ? "stderr" : "stdout", data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }
}

/** The repository of a reference: without its digest or tag (a port's colon is not a tag). */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf("@");
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Of an image's RepoDigests, the one in the image's own repository. */
export function repoDigestFor(image: string, repoDigests: string[]): string | undefined {
  const repo = repositoryOf(image);
  return repoDigests.find((d) => repositoryOf(d) === repo);
}
