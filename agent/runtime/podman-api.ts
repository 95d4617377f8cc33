// The Runtime interface on podman's REST API (libpod endpoints of podman 4.3, through
// the socket of a `podman system service`, see podman-service.ts). A call costs a few
// milliseconds here against ~45 ms for starting the podman CLI (docs/performance.md).
// Registry calls stay on the CLI (`cli`): the API cannot take a certs.d folder or an
// auth file for one pull, and a service user's pull token reaches podman only by a pipe.
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  apiEvent,
  containerStats,
  FrameDecoder,
  imageInfo,
  parseEnvFile,
  repoDigestFor,
  specGenerator,
  type CpuSample,
  type StatsJson,
} from "./api-translate.ts";
import { startExec } from "./api-exec.ts";
import type { PodmanClient } from "./podman-client.ts";
import type { PodmanCli } from "./podman-cli.ts";
import { fromInspect, fromPs, hasLabels, type InspectJson, type PsJson } from "./podman-json.ts";
import { ImageNotFoundError, RuntimeError } from "./runtime.ts";
import type {
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  ExecOptions,
  ExecSession,
  ImageInfo,
  LogLine,
  LogOptions,
  PullOptions,
  Runtime,
  RuntimeEvent,
} from "./runtime.ts";

/** Waits before asking a read again that met an exiting process (call()). */
const EXITING_RETRIES = [25, 50, 100, 200];

/** podman's 500 for a process that was gone by the time it read its /proc files. */
const exitedMidRead = (err: unknown) =>
  err instanceof RuntimeError && err.exitCode === 500 && /\/proc\/\d+\/\S*: no such (process|file or directory)/.test(err.message);

/** How long podman's version is taken as known (version()). */
const VERSION_TTL_MS = 60_000;

/** A name or image reference in a URL path (`/` and `:` stay, as podman's router expects). */
const inPath = (s: string) => encodeURI(s).replace(/[?#]/g, encodeURIComponent);

export class PodmanApiRuntime implements Runtime {
  /** The last CPU sample of each container, for the CPU % between two stats calls. */
  private readonly cpuSamples = new Map<string, CpuSample>();
  private podmanVersion: { value: string; at: number } | undefined;
  /** changes(): moves as each call that is not a GET begins and ends. */
  private changeCount = 0;
  private versionAsk: Promise<string> | undefined;

  constructor(
    private readonly client: PodmanClient,
    /** The CLI of the same podman, for login and pull. */
    private readonly cli: PodmanCli,
    /** Resolves once the API socket answers (starting its service if need be). */
    private readonly ready: () => Promise<void> = async () => undefined,
  ) {}

  private async call<T>(method: string, path: string, opts?: Parameters<PodmanClient["call"]>[2]): Promise<T> {
    if (method !== "GET") {
      this.changeCount++;
      try {
        return await this.send<T>(method, path, opts);
      } finally {
        this.changeCount++;
      }
    }
    return this.send<T>(method, path, opts);
  }

  private async send<T>(method: string, path: string, opts?: Parameters<PodmanClient["call"]>[2]): Promise<T> {
    await this.ready();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.call<T>(method, path, opts);
      } catch (err) {
        // A read that met a container's process as it exited (podman read its /proc files in
        // between: "read /proc/11565/cgroup: no such process") is asked again; the answer then
        // says the container exited. Only reads: they change nothing.
        if (method !== "GET" || attempt >= EXITING_RETRIES.length || !exitedMidRead(err)) throw err;
        await new Promise((r) => setTimeout(r, EXITING_RETRIES[attempt]));
      }
    }
  }

  /**
   * podman's version. Its /version runs conmon and the OCI runtime to ask theirs (~300 ms a
   * call on this machine), and Health (anonymous, asked by every console) reports it: it is
   * asked once a minute, one call at a time; in between, a ping (a few ms) says podman answers.
   */
  async version(): Promise<string> {
    const known = this.podmanVersion;
    if (known && Date.now() - known.at < VERSION_TTL_MS) {
      await this.call("GET", "/_ping");
      return known.value;
    }
    this.versionAsk ??= this.call<{ Version?: string }>("GET", "/version")
      .then((v) => {
        this.podmanVersion = { value: v.Version ?? "unknown", at: Date.now() };
        return this.podmanVersion.value;
      })
      .finally(() => (this.versionAsk = undefined));
    return this.versionAsk;
  }

  login(registry: string, username: string, password: string, opts: PullOptions): Promise<void> {
    return this.cli.login(registry, username, password, opts);
  }

  pull(image: string, opts?: PullOptions): Promise<void> {
    return this.cli.pull(image, opts);
  }

  async create(spec: ContainerSpec): Promise<string> {
    const env = spec.envFile ? parseEnvFile(await readFile(spec.envFile, "utf8")) : {};
    const created = await this.call<{ Id: string }>("POST", "/containers/create", { body: specGenerator(spec, env) });
    return created.Id;
  }

  async run(spec: ContainerSpec): Promise<string> {
    const id = await this.create(spec);
    try {
      await this.start(id);
    } catch (err) {
      // It was made by this call and never ran: it must not hold the name.
      await this.call("DELETE", `/containers/${id}`, { query: { force: true, timeout: 0 } }).catch(() => undefined);
      throw err;
    }
    return id;
  }

  async start(name: string): Promise<void> {
    await this.call("POST", `/containers/${inPath(name)}/start`, { ok: [304] });
  }

  async stop(name: string, timeoutSeconds?: number): Promise<void> {
    await this.call("POST", `/containers/${inPath(name)}/stop`, { query: { timeout: timeoutSeconds }, ok: [304] });
  }

  /** `force`: a running container is killed at once, and a missing one is no error (as `podman rm --force`). */
  async remove(name: string, force = false): Promise<void> {
    await this.call("DELETE", `/containers/${inPath(name)}`, { query: force ? { force: true, timeout: 0, ignore: true } : {} });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.call("POST", `/containers/${inPath(from)}/rename`, { query: { name: to } });
  }

  async inspect(name: string): Promise<ContainerInfo> {
    return fromInspect(await this.call<InspectJson>("GET", `/containers/${inPath(name)}/json`));
  }

  async list(labels: Record<string, string> = {}): Promise<ContainerInfo[]> {
    const filters = Object.keys(labels).length ? JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }) : undefined;
    const found = (await this.call<PsJson[] | null>("GET", "/containers/json", { query: { all: true, filters } })) ?? [];
    return found.map(fromPs).filter((c) => hasLabels(c.labels, labels));
  }

  async imageDigest(image: string): Promise<string | undefined> {
    let info: { RepoDigests?: string[] | null };
    try {
      info = await this.call("GET", `/images/${inPath(image)}/json`);
    } catch (err) {
      if (err instanceof ImageNotFoundError || (err instanceof RuntimeError && err.exitCode === 404)) return undefined;
      throw err;
    }
    return repoDigestFor(image, info.RepoDigests ?? []);
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.call("GET", `/images/${inPath(image)}/exists`);
      return true;
    } catch (err) {
      if (err instanceof RuntimeError && err.exitCode === 404) return false;
      throw err;
    }
  }

  logs(name: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    const query = {
      follow: opts.follow,
      stdout: true,
      stderr: true,
      tail: opts.tail,
      // podman parses it as the CLI does (an RFC 3339 time, Unix seconds or a duration before now).
      since: opts.since || undefined,
      timestamps: opts.timestamps,
    };
    const self = this;
    return (async function* () {
      await self.ready();
      const body = await self.client.stream("GET", `/containers/${inPath(name)}/logs`, { query, signal });
      const decoder = new FrameDecoder();
      const partial = { stdout: "", stderr: "" };
      try {
        for await (const chunk of abortable(body, signal)) {
          for (const frame of decoder.push(chunk as Buffer)) {
            const lines = (partial[frame.stream] + frame.data.toString("utf8")).split("\n");
            partial[frame.stream] = lines.pop() ?? "";
            for (const line of lines) yield { stream: frame.stream, line: line.endsWith("\r") ? line.slice(0, -1) : line };
          }
        }
        for (const stream of ["stdout", "stderr"] as const) if (partial[stream]) yield { stream, line: partial[stream] };
      } finally {
        body.destroy();
      }
    })();
  }

  changes(): number {
    return this.changeCount;
  }

  events(labels: Record<string, string>, signal: AbortSignal, opened?: () => void): AsyncIterable<RuntimeEvent> {
    const filters = JSON.stringify({ type: ["container"], label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    const self = this;
    return (async function* () {
      await self.ready();
      const body = await self.client.stream("GET", "/events", { query: { stream: true, filters }, signal });
      opened?.(); // podman answers with its headers once it has subscribed
      let partial = "";
      try {
        for await (const chunk of abortable(body, signal)) {
          const lines = (partial + (chunk as Buffer).toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.trim()) continue;
            const event = apiEvent(JSON.parse(line) as Record<string, unknown>);
            // podman ORs several label filters; keep only containers that carry them all.
            if (event && hasLabels(event.labels, labels)) yield event;
          }
        }
      } finally {
        body.destroy();
      }
      if (!signal.aborted) throw new RuntimeError("podman's event stream ended", [self.client.socketPath, "GET /events"], null, "");
    })();
  }

  async exec(name: string, opts: ExecOptions): Promise<ExecSession> {
    await this.ready();
    return startExec(this.client, inPath(name), opts);
  }

  async stats(): Promise<ContainerStats[]> {
    const answer = await this.call<{ Error?: unknown; Stats?: StatsJson[] | null }>("GET", "/containers/stats", { query: { stream: false } });
    const seen = new Set<string>();
    const stats = (answer.Stats ?? []).map((s) => {
      seen.add(s.ContainerID);
      const out = containerStats(s, this.cpuSamples.get(s.ContainerID));
      if (s.CPUNano !== undefined && s.SystemNano !== undefined) this.cpuSamples.set(s.ContainerID, { cpuNano: s.CPUNano, systemNano: s.SystemNano });
      return out;
    });
    for (const id of this.cpuSamples.keys()) if (!seen.has(id)) this.cpuSamples.delete(id);
    return stats;
  }

  async images(): Promise<ImageInfo[]> {
    return ((await this.call<Parameters<typeof imageInfo>[0][] | null>("GET", "/images/json")) ?? []).map(imageInfo);
  }

  async removeImage(id: string): Promise<void> {
    await this.call("DELETE", `/images/${inPath(id)}`);
  }
}

/** A response body's chunks until it ends or `signal` aborts (then the body is destroyed and the loop ends). */
async function* abortable(body: Readable, signal: AbortSignal): AsyncIterable<unknown> {
  if (signal.aborted) return;
  const onAbort = () => body.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
