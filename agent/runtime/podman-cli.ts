// The podman CLI, for what podman's API cannot do for the agent (docs/agent.md, "podman's
// API and CLI"): log in to the registry and pull with a certs.d folder, an auth file, or a
// service user's pull token piped to that user's podman. Every call is execFile with an
// argument array; no shell is involved but the one a piped pull needs (see registryCall).
import { execFile } from "node:child_process";
import { ImageNotFoundError, NoSuchContainerError, RuntimeError } from "./runtime.ts";
import type { PullOptions } from "./runtime.ts";

export interface PodmanOptions {
  /** The podman binary; default "podman". */
  command?: string;
  /** Environment of every call (e.g. CONTAINERS_CONF); default: the agent's own. */
  env?: NodeJS.ProcessEnv;
  /** Limit for each call; default 10 minutes, enough for a large pull. */
  timeoutMs?: number;
  /**
   * A command that runs podman on the runtime's behalf, e.g. `runuser -u gazette-prod -- env -i
   * HOME=… XDG_RUNTIME_DIR=…` for a service user's rootless podman. The podman command
   * and its arguments are appended to it.
   */
  wrapper?: string[];
}

const STDERR_LIMIT = 4000;

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

export class PodmanCli {
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

  async login(registry: string, username: string, password: string, opts: PullOptions): Promise<void> {
    const args = ["login", ...registryArgs(opts), "--username", username, "--password-stdin", registry];
    await this.exec(args, `${this.command} login ${registry}`, { input: `${password}\n` });
  }

  async pull(image: string, opts?: PullOptions): Promise<void> {
    await this.registryCall(["pull", "--quiet", image], image, `${this.command} pull ${image}`, opts);
  }
}
