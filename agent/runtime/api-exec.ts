// An exec session through podman's API: create the exec (`POST /containers/{name}/exec`),
// start it on a hijacked connection that then carries stdin one way and the output the other
// (raw bytes with a TTY, 8-byte frames without), resize it, and read its exit code from
// `GET /exec/{id}/json` once the output has ended.
import type { Duplex } from "node:stream";
import { FrameDecoder } from "./api-translate.ts";
import type { PodmanClient } from "./podman-client.ts";
import type { ExecOptions, ExecOutput, ExecSession } from "./runtime.ts";

/** How long after the output ends podman may take to record the exit code. */
const EXIT_WAIT_MS = 5000;

export async function startExec(client: PodmanClient, name: string, opts: ExecOptions): Promise<ExecSession> {
  const body: Record<string, unknown> = {
    AttachStdin: opts.stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: opts.tty,
    Cmd: opts.cmd,
  };
  if (opts.env?.length) body.Env = opts.env;
  if (opts.user) body.User = opts.user;
  const { Id: id } = await client.call<{ Id: string }>("POST", `/containers/${name}/exec`, { body });
  const start: Record<string, unknown> = { Detach: false, Tty: opts.tty };
  if (opts.tty && opts.size) Object.assign(start, { h: opts.size.rows, w: opts.size.cols });
  const socket = await client.hijack(`/exec/${id}/start`, start);
  return new ApiExecSession(client, id, socket, opts.tty);
}

class ApiExecSession implements ExecSession {
  readonly output: AsyncIterable<ExecOutput>;

  constructor(
    private readonly client: PodmanClient,
    private readonly id: string,
    private readonly socket: Duplex,
    tty: boolean,
  ) {
    socket.on("error", () => undefined); // a reset after the process ended ends the output below
    this.output = read(socket, tty);
  }

  write(data: Uint8Array): void {
    if (!this.socket.writableEnded) this.socket.write(data);
  }

  endInput(): void {
    if (!this.socket.writableEnded) this.socket.end();
  }

  async resize(rows: number, cols: number): Promise<void> {
    await this.client.call("POST", `/exec/${this.id}/resize`, { query: { h: rows, w: cols }, ok: [201] });
  }

  async exitCode(): Promise<number> {
    const deadline = Date.now() + EXIT_WAIT_MS;
    for (;;) {
      const info = await this.client.call<{ Running?: boolean; ExitCode?: number }>("GET", `/exec/${this.id}/json`);
      if (!info.Running) return info.ExitCode ?? -1;
      if (Date.now() > deadline) throw new Error(`exec ${this.id.slice(0, 12)} still running ${EXIT_WAIT_MS} ms after its output ended`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

async function* read(socket: Duplex, tty: boolean): AsyncGenerator<ExecOutput> {
  const decoder = new FrameDecoder();
  try {
    for await (const chunk of socket) {
      const buf = chunk as Buffer;
      if (tty) yield { stream: "stdout", data: buf };
      else for (const frame of decoder.push(buf)) yield frame;
    }
  } catch {
    // ECONNRESET once the process has gone: its output is complete.
  }
}
