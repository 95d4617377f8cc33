// The Runtime interface on the podman CLI (podman 4.3, plus
// create/start/rename, the log and event streams, and registry credentials).
// Every call is execFile/spawn with an argument array; no shell is involved.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { buildRunArgs, hasLabels, parseEvent, parseInspect, parsePs } from "./run-args.ts";
import { ImageNotFoundError, NoSuchContainerError, RuntimeError } from "./runtime.ts";
import type { ContainerInfo, ContainerSpec, LogLine, LogOptions, PullOptions, Runtime, RuntimeEvent } from "./runtime.ts";

export interface PodmanOptions {
  /** The podman binary; default "podman". */
  command?: string;
  /** Environment of every call (e.g. CONTAINERS_CONF); default: the agent's own. */
  env?: NodeJS.ProcessEnv;
  /** Limit for each one-shot call (not for logs/events); default 10 minutes, enough for a large pull. */
  timeoutMs?: number;
  /**
   * A command that runs podman on the runtime's behalf, e.g. `runuser -u gazette-prod -- env -i
   * HOME=… XDG_RUNTIME_DIR=…` for a service user's rootless podman. The podman command
   * and its arguments are appended to it.
   */
  wrapper?: string[];
}

const STDERR_LIMIT = 4000;
/** Lines buffered from a stream before podman's pipes are paused (back-pressure). */
const HIGH_WATER = 1000;
/** How long a stream's child gets after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3000;

function trimStderr(stderr: string): string {
  const s = stderr.trim();
  return s.length > STDERR_LIMIT ? `…${s.slice(-STDERR_LIMIT)}` : s;
}

/** The RuntimeError subclass that podman's message calls for. */
function runtimeError(what: string, command: string[], exitCode: number | null, stderr: string, reason?: string): RuntimeError {
  const text = trimStderr(stderr);
  const message = `${what} failed${reason ? `: ${reason}` : ` (exit ${exitCode ?? "?"})`}${text ? `: ${text}` : ""}`;
  if (/no such container|no container with name or id/i.test(text)) return new NoSuchContainerError(message, command, exitCode, text);
  if (/image not known|manifest unknown|name unknown|no such image|repository name not known/i.test(text)) {
    return new ImageNotFoundError(message, command, exitCode, text);
  }
  return new RuntimeError(message, command, exitCode, text);
}

function spawnFailure(what: string, command: string[], err: NodeJS.ErrnoException): RuntimeError {
  const reason = err.code === "ENOENT" ? `cannot run ${command[0]}: no such file (ENOENT)` : `cannot run ${command[0]}: ${err.message}`;
  return new RuntimeError(`${what} failed: ${reason}`, command, null, "");
}

/** `authFile`: the file, "/dev/stdin" for piped credentials, or none. */
function registryArgs(opts: PullOptions | undefined, authFile = opts?.authFile): string[] {
  const args: string[] = [];
  if (authFile) args.push("--authfile", authFile);
  if (opts?.certDir) args.push("--cert-dir", opts.certDir);
  return args;
}

/** Attempts of a call with piped credentials: a pull token that expired during a long pull is renewed. */
const PIPED_AUTH_ATTEMPTS = 3;
const AUTH_REFUSED = /unauthorized|authentication required|\b401\b/i;

/** The last non-empty line of podman's stdout (run/create print the id there). */
function lastLine(stdout: string): string {
  const lines = stdout.trim().split("\n");
  return (lines[lines.length - 1] ?? "").trim();
}

export class PodmanRuntime implements Runtime {
  private readonly command: string;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly timeoutMs: number;
  private readonly wrapper: string[];

  constructor(opts: PodmanOptions = {}) {
    this.command = opts.command ?? "podman";
    this.env = opts.env;
    this.timeoutMs = opts.timeoutMs ?? 10 * 60 * 1000;
    this.wrapper = opts.wrapper ?? [];
  }

  /** The program to start and its arguments, through the wrapper when there is one. */
  private argv(cmd: string, args: string[]): [string, string[]] {
    return this.wrapper.length ? [this.wrapper[0]!, [...this.wrapper.slice(1), cmd, ...args]] : [cmd, args];
  }

  /** Runs one command to completion; `what` names it in errors ("podman stop svc-api"). */
  private exec(args: string[], what: string, opts: { cmd?: string; cwd?: string; input?: string } = {}): Promise<string> {
    const [file, fileArgs] = this.argv(opts.cmd ?? this.command, args);
    const argv = [file, ...fileArgs];
    return new Promise((resolve, reject) => {
      const child = execFile(
        file,
        fileArgs,
        { env: this.env, cwd: opts.cwd, timeout: this.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          if (typeof e.code === "string" && e.code !== "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return reject(spawnFailure(what, argv, e));
          if (e.signal) return reject(runtimeError(what, argv, null, stderr, `killed by ${e.signal}${e.killed ? ` (timeout ${this.timeoutMs} ms)` : ""}`));
          reject(runtimeError(what, argv, typeof e.code === "number" ? e.code : null, stderr));
        },
      );
      // Secrets go through stdin, never the command line (visible in ps).
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(opts.input ?? "");
    });
  }

  private podman(args: string[], target: string): Promise<string> {
    return this.exec(args, `${this.command} ${args[0]} ${target}`);
  }

  /**
   * A registry call (a pull) of `image` with `opts`' credentials. With
   * `pipedAuth` the auth.json it makes goes to stdin and `sh -c 'cat | …'` run as the service
   * user makes the pipe that podman reads /dev/stdin from: a pipe of root's own cannot be
   * reopened by another UID, one made by that user can, and only by the process holding it.
   * Nothing reaches disk. A call refused for its credentials (the pull token ran out during a
   * long pull) is made again with a new one; layers already pulled stay.
   */
  private async registryCall(args: string[], image: string, what: string, opts: PullOptions | undefined): Promise<string> {
    const cmd = this.command;
    const withArgs = (extra: string[]) => [...args.slice(0, -1), ...extra, args[args.length - 1]!];
    if (!opts?.pipedAuth) return this.exec(withArgs(registryArgs(opts)), what, { cmd });
    for (let attempt = 1; ; attempt++) {
      const auth = await opts
        .pipedAuth(image)
        .catch((err: Error) => Promise.reject(new RuntimeError(`${what} failed: ${err.message}`, [cmd, ...args], null, "")));
      if (auth === null) return this.exec(withArgs(registryArgs(opts, "")), what, { cmd });
      try {
        return await this.exec(["-c", 'cat | "$0" "$@"', cmd, ...withArgs(registryArgs(opts, "/dev/stdin"))], what, { cmd: "sh", input: auth });
      } catch (err) {
        if (attempt >= PIPED_AUTH_ATTEMPTS || !(err instanceof RuntimeError) || !AUTH_REFUSED.test(err.stderr)) throw err;
      }
    }
  }

  async version(): Promise<string> {
    return (await this.exec(["version", "--format", "{{.Client.Version}}"], `${this.command} version`)).trim();
  }

  async login(registry: string, username: string, password: string, opts: PullOptions): Promise<void> {
    const args = ["login", ...registryArgs(opts), "--username", username, "--password-stdin", registry];
    await this.exec(args, `${this.command} login ${registry}`, { input: `${password}\n` });
  }

  async pull(image: string, opts?: PullOptions): Promise<void> {
    await this.registryCall(["pull", "--quiet", image], image, `${this.command} pull ${image}`, opts);
  }

  async create(spec: ContainerSpec): Promise<string> {
    return lastLine(await this.podman(buildRunArgs(spec, "create"), spec.name));
  }

  async run(spec: ContainerSpec): Promise<string> {
    try {
      return lastLine(await this.podman(buildRunArgs(spec, "run"), spec.name));
    } catch (err) {
      // 126/127: the OCI runtime could not start the command, and podman leaves the
      // container behind in "created", holding the name. (125 is podman's own error,
      // e.g. the name is taken by another container, which must not be removed.)
      if (err instanceof RuntimeError && (err.exitCode === 126 || err.exitCode === 127)) {
        await this.remove(spec.name, true).catch(() => undefined);
      }
      throw err;
    }
  }

  async start(name: string): Promise<void> {
    await this.podman(["start", name], name);
  }

  async stop(name: string, timeoutSeconds?: number): Promise<void> {
    const time = timeoutSeconds === undefined ? [] : ["--time", String(timeoutSeconds)];
    await this.podman(["stop", ...time, name], name);
  }

  /** `force` kills a running container at once (--time 0), as `docker rm -f` does. */
  async remove(name: string, force = false): Promise<void> {
    await this.podman(["rm", ...(force ? ["--force", "--time", "0"] : []), name], name);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.podman(["rename", from, to], from);
  }

  async inspect(name: string): Promise<ContainerInfo> {
    const args = ["container", "inspect", name];
    const info = parseInspect(await this.exec(args, `${this.command} inspect ${name}`))[0];
    if (!info) throw new NoSuchContainerError(`${this.command} inspect ${name} failed: no such container`, [this.command, ...args], 0, "");
    return info;
  }

  async list(labels: Record<string, string> = {}): Promise<ContainerInfo[]> {
    const filters = Object.entries(labels).flatMap(([k, v]) => ["--filter", `label=${k}=${v}`]);
    const out = await this.exec(["ps", "-a", "--format", "json", ...filters], `${this.command} ps`);
    // podman ANDs label filters in ps; checking again keeps list() right if that changes.
    return parsePs(out).filter((c) => hasLabels(c.labels, labels));
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.exec(["image", "exists", image], `${this.command} image exists ${image}`);
      return true;
    } catch (err) {
      // `image exists` answers 1, with nothing on stderr, when the image is not there.
      if (err instanceof RuntimeError && err.exitCode === 1) return false;
      throw err;
    }
  }

  logs(name: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    const args = ["logs"];
    if (opts.follow) args.push("--follow");
    if (opts.tail !== undefined) args.push("--tail", String(opts.tail));
    if (opts.since) args.push("--since", opts.since);
    if (opts.timestamps) args.push("--timestamps");
    args.push(name);
    const self = this;
    return (async function* () {
      // Checked first: once podman logs runs, its own errors and the container's stderr share a pipe.
      await self.mustExist(name);
      const [file, fileArgs] = self.argv(self.command, args);
      yield* streamLines(file, fileArgs, self.env, signal, `${self.command} logs ${name}`);
    })();
  }

  events(labels: Record<string, string>, signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    // --since now: events between this call and podman opening its event log are not lost.
    const args = ["events", "--format", "json", "--since", new Date().toISOString(), "--filter", "type=container"];
    for (const [k, v] of Object.entries(labels)) args.push("--filter", `label=${k}=${v}`);
    const command = this.command;
    const env = this.env;
    const [file, fileArgs] = this.argv(command, args);
    return (async function* () {
      for await (const { stream, line } of streamLines(file, fileArgs, env, signal, `${command} events`)) {
        if (stream !== "stdout") continue;
        const event = parseEvent(line);
        // podman ORs several label filters in events; keep only containers that carry them all.
        if (event && hasLabels(event.labels, labels)) yield event;
      }
    })();
  }

  private async mustExist(name: string): Promise<void> {
    try {
      await this.exec(["container", "exists", name], `${this.command} container exists ${name}`);
    } catch (err) {
      // `container exists` answers 1, with nothing on stderr, when there is no such container.
      if (err instanceof RuntimeError && err.exitCode === 1) {
        throw new NoSuchContainerError(`${this.command} logs ${name} failed: no such container`, err.command, 1, err.stderr);
      }
      throw err;
    }
  }
}

/**
 * Spawns a long-running command and yields its stdout and stderr lines as they
 * arrive. Ends when the command exits (RuntimeError unless it exited 0), when
 * `signal` aborts, or when the consumer stops iterating; in the last two cases
 * the child gets SIGTERM (then SIGKILL) and is waited for, so none is left behind.
 */
export async function* streamLines(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv | undefined,
  signal: AbortSignal,
  what: string,
): AsyncGenerator<LogLine, void> {
  if (signal.aborted) return;
  const argv = [command, ...args];
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const queue: LogLine[] = [];
  const stderrTail: string[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let done = false;
  let spawnError: NodeJS.ErrnoException | undefined;
  let paused = false;
  const streams = [child.stdout, child.stderr] as Readable[];

  const attach = (input: Readable, stream: LogLine["stream"]) => {
    input.setEncoding("utf8");
    let partial = "";
    const push = (line: string) => {
      queue.push({ stream, line: line.endsWith("\r") ? line.slice(0, -1) : line });
      if (stream === "stderr" && stderrTail.push(line) > 20) stderrTail.shift();
    };
    input.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      parts.forEach(push);
      if (queue.length >= HIGH_WATER && !paused) {
        paused = true;
        streams.forEach((s) => s.pause());
      }
      notify();
    });
    input.on("end", () => {
      if (partial) push(partial);
      partial = "";
      notify();
    });
  };
  attach(child.stdout, "stdout");
  attach(child.stderr, "stderr");
  // 'close' comes after both pipes have ended, so every line is queued by then.
  child.once("close", () => {
    done = true;
    notify();
  });
  child.once("error", (err) => {
    spawnError = err;
    done = true;
    notify();
  });
  const onAbort = () => notify();
  signal.addEventListener("abort", onAbort, { once: true });

  try {
    let next = 0;
    for (;;) {
      if (signal.aborted) return;
      if (next < queue.length) {
        const item = queue[next++]!;
        if (next > 512) {
          // Drop consumed lines now and then rather than shift() per line.
          queue.splice(0, next);
          next = 0;
        }
        if (paused && queue.length - next < HIGH_WATER / 2) {
          paused = false;
          streams.forEach((s) => s.resume());
        }
        yield item;
        continue;
      }
      if (done) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (spawnError) throw spawnFailure(what, argv, spawnError);
    if (child.exitCode !== 0) {
      const reason = child.signalCode ? `killed by ${child.signalCode}` : undefined;
      throw runtimeError(what, argv, child.exitCode, stderrTail.join("\n"), reason);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    await ensureGone(child);
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has exited. */
async function ensureGone(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), KILL_GRACE_MS)));
  if (await Promise.race([exited.then(() => false), timedOut])) {
    child.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
  // Paused or unread pipes would otherwise keep the event loop busy.
  child.stdout?.destroy();
  child.stderr?.destroy();
}
