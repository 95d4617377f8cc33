// The container runtime the agent drives (a Runtime interface, plus
// the lifecycle calls deploys need and the two streams: logs and events).
// The podman implementation is in podman.ts; tests may swap in a fake.

export interface ContainerSpec {
  /** `<service>-<component>`, validated by the caller. */
  name: string;
  image: string;
  /** Empty: podman's default network. */
  network?: string;
  /** `uid[:gid]` or a user name. */
  user?: string;
  /** no | always | on-failure[:N] | unless-stopped */
  restart?: string;
  /** `-p` values: `[ip:]hostPort:containerPort[/proto]`. */
  ports: string[];
  /** `-v` values: `host:container[:options]`. */
  volumes: string[];
  /** Path of an env file (KEY=value lines) the container gets with --env-file. */
  envFile?: string;
  labels: Record<string, string>;
  /** Replaces the image's CMD when not empty. */
  cmd: string[];
}

export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** A mount of a container, as inspect reports it. */
export interface MountInfo {
  /** bind, volume, tmpfs */
  type: string;
  source: string;
  destination: string;
  /** As podman reports them: rbind, ro, … */
  options: string[];
  readWrite: boolean;
}

/** What inspect says of a container beyond a list entry (Describe). */
export interface ContainerDetails {
  /** The image's id and manifest digest as podman has them; "" when it does not say. */
  imageId: string;
  imageDigest: string;
  /** ISO 8601; "" when unknown (finishedAt: never finished). */
  createdAt: string;
  finishedAt: string;
  entrypoint: string[];
  cmd: string[];
  /** `uid[:gid]` or a name; "" for the image's user. */
  user: string;
  workingDir: string;
  /** no | always | on-failure[:N] | unless-stopped */
  restartPolicy: string;
  /** The networks it is on, or podman's network mode (host, none, …). */
  network: string;
  mounts: MountInfo[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** podman's state: created, running, exited, stopped, paused, ... */
  state: string;
  /** ISO 8601, when running or once started. */
  startedAt?: string;
  exitCode?: number;
  /** Times podman's restart policy restarted it (inspect only). */
  restartCount?: number;
  /** Host paths of its bind mounts, as given when it was made (inspect only). */
  bindSources?: string[];
  labels: Record<string, string>;
  ports: PortBinding[];
  /** The tag of the image reference, e.g. "v1.2.0". */
  version: string;
  /** Image, command, mounts, restart policy, times (inspect only). */
  details?: ContainerDetails;
}

export interface LogOptions {
  follow: boolean;
  /** Lines from the end; undefined = all. */
  tail?: number;
  /** RFC 3339 time or a duration like "10m". */
  since?: string;
  timestamps: boolean;
}

export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
}

export interface RuntimeEvent {
  /** ISO 8601. */
  time: string;
  /** create, start, died, stop, remove, ... */
  action: string;
  containerId: string;
  containerName: string;
  image: string;
  labels: Record<string, string>;
}

export interface PullOptions {
  /** containers-auth.json with the registry credentials (podman login --authfile); the agent's own podman only. */
  authFile?: string;
  /** certs.d-style folder for the registry's CA (never --tls-verify=false). */
  certDir?: string;
  /**
   * For a podman of another user (a service user's), who must never get the agent's login:
   * the auth.json for one call on `image` — a pull token of its repository, made afresh for
   * each call — or null for none. It reaches podman through a pipe only that podman holds.
   */
  pipedAuth?: (image: string) => Promise<string | null>;
}

export interface ExecOptions {
  /** The command and its arguments (never through a shell unless the command is one). */
  cmd: string[];
  /** A pseudo-terminal: one output stream, window size, the shell's line discipline. */
  tty: boolean;
  /** Whether the process reads stdin (otherwise it gets none). */
  stdin: boolean;
  /** Extra KEY=value variables. */
  env?: string[];
  /** `uid[:gid]` or a user name; default: the container's user. */
  user?: string;
  /** Initial window size with a TTY. */
  size?: { rows: number; cols: number };
}

export interface ExecOutput {
  /** With a TTY everything is "stdout". */
  stream: "stdout" | "stderr";
  data: Uint8Array;
}

/** A process started in a running container by exec. */
export interface ExecSession {
  /** Bytes for the process's stdin (only when started with `stdin`). */
  write(data: Uint8Array): void;
  /** Closes the process's stdin (EOF); the process goes on. */
  endInput(): void;
  /** Output until the process exits (or the session is closed). */
  output: AsyncIterable<ExecOutput>;
  /** A new window size (TTY only). */
  resize(rows: number, cols: number): Promise<void>;
  /** The exit code, once the process has ended and its output has been read. */
  exitCode(): Promise<number>;
  /** Drops the connection; the process gets SIGHUP from its terminal (TTY) or EOF. */
  close(): void;
}

/** A container's resource use, as podman measures it. */
export interface ContainerStats {
  id: string;
  name: string;
  /** CPU use since the previous sample of this runtime (or since start), in % of one core. */
  cpuPercent: number;
  memUsedBytes: number;
  /** The cgroup's limit, or the host's memory when there is none. */
  memLimitBytes: number;
  netInBytes: number;
  netOutBytes: number;
  blockInBytes: number;
  blockOutBytes: number;
  pids: number;
}

export interface ImageInfo {
  id: string;
  /** Its references (registry/repository:tag); empty for a dangling image. */
  names: string[];
  /** ISO 8601. */
  created: string;
  sizeBytes: number;
  /** Containers (running or not) using it. */
  containers: number;
}

export interface Runtime {
  /** podman's version, e.g. "4.3.1". */
  version(): Promise<string>;
  /** Stores registry credentials in `opts.authFile` (podman login --password-stdin). */
  login(registry: string, username: string, password: string, opts: PullOptions): Promise<void>;
  pull(image: string, opts?: PullOptions): Promise<void>;
  /** Creates a container without starting it; returns its id. */
  create(spec: ContainerSpec): Promise<string>;
  /** Creates and starts a container (podman run -d); returns its id. */
  run(spec: ContainerSpec): Promise<string>;
  start(name: string): Promise<void>;
  /** Stops with SIGTERM, then SIGKILL after `timeoutSeconds` (podman's default when undefined). */
  stop(name: string, timeoutSeconds?: number): Promise<void>;
  /** Removes a container; `force` also removes a running one. */
  remove(name: string, force?: boolean): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Throws NoSuchContainerError when it does not exist. */
  inspect(name: string): Promise<ContainerInfo>;
  /** Every container (running or not) whose labels include all of `labels`. */
  list(labels?: Record<string, string>): Promise<ContainerInfo[]>;
  /** Whether the image is in local storage (podman image exists). */
  hasImage(image: string): Promise<boolean>;
  /** The image's digest reference in its repository (`repo@sha256:…`), or undefined when podman has none (a local build, a missing image). */
  imageDigest(image: string): Promise<string | undefined>;
  /** Log lines until the container's log ends (or forever with follow) or `signal` aborts, which ends the podman process. */
  logs(name: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogLine>;
  /**
   * Container lifecycle events of containers carrying all of `labels`, until `signal` aborts.
   * `opened`, when given, is called once podman has taken the subscription: every change after
   * that call comes as an event.
   */
  events(labels: Record<string, string>, signal: AbortSignal, opened?: () => void): AsyncIterable<RuntimeEvent>;
  /** Starts a process in a running container; NoSuchContainerError when there is none. */
  exec(name: string, opts: ExecOptions): Promise<ExecSession>;
  /** Resource use of every running container of this podman, in one call. */
  stats(): Promise<ContainerStats[]>;
  /** Every image in this podman's storage. */
  images(): Promise<ImageInfo[]>;
  /** Removes an image by id (refused by podman while a container uses it). */
  removeImage(id: string): Promise<void>;
  /**
   * A count that moves as each call that may change containers begins and as it ends (a list
   * taken while it did not move saw no change made through this runtime). Absent: no count is
   * kept, and no list of this runtime is ever reused (agent/runtime/list-cache.ts).
   */
  changes?(): number;
}

/** A podman command failed; the message includes podman's own stderr. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
  constructor(
    message: string,
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export class NoSuchContainerError extends RuntimeError {
  override name = "NoSuchContainerError";
}

export class ImageNotFoundError extends RuntimeError {
  override name = "ImageNotFoundError";
}
