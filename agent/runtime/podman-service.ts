// A `podman system service` the agent starts and keeps running: the API socket of one
// podman (the agent's own, or a service user's rootless one through its wrapper). It is
// started on first use, restarted with a growing delay when it exits, and stopped with the
// agent. A service left behind by an agent that was killed is found by its pid file and
// stopped before a new one takes the socket.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Logger } from "../../lib/log/logger.ts";
import type { PodmanClient } from "./podman-client.ts";
import { RuntimeError } from "./runtime.ts";

export interface PodmanServiceOptions {
  /** The podman binary. */
  command: string;
  env?: NodeJS.ProcessEnv;
  /** Runs podman as another user (runuser … env -i …), as for the CLI. */
  wrapper?: string[];
  socketPath: string;
  /** "the agent's podman", "gazette-prod's podman": names it in logs and errors. */
  what: string;
  log: Logger;
}

/** How long a starting service gets to answer on its socket. */
const READY_TIMEOUT_MS = 20_000;
const RESTART_DELAY_MIN_MS = 250;
const RESTART_DELAY_MAX_MS = 10_000;
/** sun_path holds 108 bytes, the last one a NUL. */
const MAX_SOCKET_PATH = 107;
/** A service that ran this long resets the restart delay. */
const STABLE_MS = 60_000;

/** Signals a service's whole process group (the wrapper and podman), or the process alone when it has none. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

export class PodmanService {
  private child: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private restartDelay = RESTART_DELAY_MIN_MS;
  private notBefore = 0;

  constructor(
    private readonly o: PodmanServiceOptions,
    private readonly client: PodmanClient,
  ) {}

  /** Resolves once the socket answers, starting the service when it is not running. */
  ready(): Promise<void> {
    if (this.stopped) return Promise.reject(new RuntimeError(`${this.o.what}: the agent is shutting down`, [this.o.command], null, ""));
    if (this.child && this.child.exitCode === null && !this.starting) return Promise.resolve();
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private get pidFile(): string {
    return `${this.o.socketPath}.pid`;
  }

  private async start(): Promise<void> {
    if (Buffer.byteLength(this.o.socketPath) > MAX_SOCKET_PATH) {
      throw new RuntimeError(
        `${this.o.what}: the API socket path ${this.o.socketPath} is longer than the ${MAX_SOCKET_PATH} bytes a unix socket may have; use a shorter data dir or set [runtime] socket`,
        [this.o.command],
        null,
        "",
      );
    }
    const wait = this.notBefore - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.killLeftover();
    rmSync(this.o.socketPath, { force: true });
    const args = ["system", "service", "--time=0", `unix://${this.o.socketPath}`];
    const [file, fileArgs] = this.o.wrapper?.length ? [this.o.wrapper[0]!, [...this.o.wrapper.slice(1), this.o.command, ...args]] : [this.o.command, args];
    // A process group of its own: a stop reaches podman itself, not only the runuser wrapper in
    // front of it (a SIGKILL to the wrapper alone would leave podman running as the user).
    const child = spawn(file, fileArgs, { env: this.o.env, stdio: ["ignore", "ignore", "pipe"], detached: true });
    this.child = child;
    const startedAt = Date.now();
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => reject(new RuntimeError(`${this.o.what}: cannot run ${file}: ${err.message}`, [file, ...fileArgs], null, "")));
    });
    child.once("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      rmSync(this.pidFile, { force: true });
      if (this.stopped) return;
      const ran = Date.now() - startedAt;
      this.restartDelay = ran > STABLE_MS ? RESTART_DELAY_MIN_MS : Math.min(this.restartDelay * 2, RESTART_DELAY_MAX_MS);
      this.notBefore = Date.now() + this.restartDelay;
      // Restarted by the next call (or the event feed's reconnect), after the delay.
      this.o.log.warn({ podman: this.o.what, code, signal, stderr: stderr.trim().slice(-500) }, "podman API service exited");
    });
    await spawned;
    if (child.pid) writeFileSync(this.pidFile, `${child.pid}\n`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new RuntimeError(
          `${this.o.what}: podman system service exited at start: ${stderr.trim() || `code ${child.exitCode}`}`,
          [file],
          child.exitCode,
          stderr,
        );
      }
      try {
        await this.client.call("GET", "/_ping");
        this.o.log.debug({ podman: this.o.what, socket: this.o.socketPath, ms: Date.now() - startedAt }, "podman API service ready");
        return;
      } catch {
        if (Date.now() > deadline) {
          signalGroup(child.pid!, "SIGKILL");
          throw new RuntimeError(
            `${this.o.what}: podman system service did not answer on ${this.o.socketPath} within ${READY_TIMEOUT_MS} ms`,
            [file],
            null,
            stderr,
          );
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    }
  }

  /** Stops a service that a killed agent left on this socket (its pid file names it). */
  private killLeftover(): void {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, "utf8").trim());
    } catch {
      return;
    }
    try {
      // Only if it is still a podman service on this socket: the pid may have been reused.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes("system\0service") && cmdline.includes(this.o.socketPath)) signalGroup(pid, "SIGTERM");
    } catch {
      // gone already
    }
    rmSync(this.pidFile, { force: true });
  }

  /** Stops the service (SIGTERM, SIGKILL after 5 s); containers are not touched. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    signalGroup(child.pid!, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(this.o.socketPath, { force: true });
  }
}
