// A promise-based client of podman's REST API on a unix socket, over docker-modem (the
// transport under dockerode, which Podman Desktop drives podman with). Only the libpod
// endpoints are used (`/v4.0.0/libpod/...`): they mirror the podman CLI's defaults, where the
// Docker-compatible ones differ (networking of rootless containers, for one). Errors become
// the runtime's errors: 404s that podman explains as a missing container or image are
// NoSuchContainerError / ImageNotFoundError, everything else a RuntimeError with podman's message.
import type { Duplex, Readable } from "node:stream";
import type DockerModem from "docker-modem";
import { ImageNotFoundError, NoSuchContainerError, RuntimeError } from "./runtime.ts";

const API = "/v4.0.0/libpod";
/** One-shot calls wait at most this long; a pull is not made through the API (docs/agent.md). */
const CALL_TIMEOUT_MS = 5 * 60 * 1000;

type Query = Record<string, string | number | boolean | undefined>;

export interface CallOptions {
  query?: Query;
  body?: unknown;
  /** Statuses that are success besides 2xx (e.g. 304 "already stopped"). */
  ok?: number[];
  signal?: AbortSignal;
}

interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

// docker-modem is loaded on first use, so that a process that never talks to podman does not load it.
let modemClass: typeof DockerModem | undefined;
async function loadModem(): Promise<typeof DockerModem> {
  modemClass ??= ((await import("docker-modem")) as { default: typeof DockerModem }).default;
  return modemClass;
}

/** podman's error document: `{"cause": "...", "message": "...", "response": 404}`. */
function podmanMessage(err: ModemError): string {
  const json = err.json as { message?: unknown; cause?: unknown } | undefined;
  if (json && typeof json === "object" && typeof json.message === "string") return json.message;
  if (Buffer.isBuffer(err.json)) return err.json.toString("utf8").trim();
  return err.message;
}

function definedOnly(query: Query | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

export class PodmanClient {
  private modem: DockerModem | undefined;

  /** `what` names this podman in errors ("podman at /run/…/podman.sock"). */
  constructor(
    readonly socketPath: string,
    private readonly what = `podman at ${socketPath}`,
  ) {}

  private async connection(): Promise<DockerModem> {
    if (!this.modem) {
      const Modem = await loadModem();
      // No socket-idle timeout here: it would also cut an idle event stream, log follow or shell.
      this.modem = new Modem({ socketPath: this.socketPath });
    }
    return this.modem;
  }

  private async dial<T>(method: string, path: string, opts: CallOptions, extra: Partial<DockerModem.DialOptions>): Promise<T> {
    const modem = await this.connection();
    const statusCodes: Record<number, boolean> = { 200: true, 201: true, 204: true, 101: true };
    for (const s of opts.ok ?? []) statusCodes[s] = true;
    const call = `${method} ${path}`;
    return new Promise<T>((resolve, reject) => {
      modem.dial(
        {
          // docker-modem appends `_query` to a path ending in "?" and sends `_body` as JSON
          // (an empty object is not sent at all).
          path: `${API}${path}?`,
          method,
          options: { _query: definedOnly(opts.query), _body: opts.body ?? {} },
          statusCodes,
          abortSignal: opts.signal,
          ...extra,
        },
        (err, result) => {
          if (err) return reject(this.toRuntimeError(call, err as ModemError));
          resolve(result as T);
        },
      );
    });
  }

  /** A call whose answer is JSON (or nothing). */
  call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const limit = AbortSignal.timeout(CALL_TIMEOUT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, limit]) : limit;
    return this.dial<T>(method, path, { ...opts, signal }, {}).catch((err: unknown) => {
      if (limit.aborted && !opts.signal?.aborted)
        throw new RuntimeError(`${method} ${path} failed: no answer from ${this.what} within ${CALL_TIMEOUT_MS / 1000} s`, [this.socketPath], null, "");
      throw err;
    });
  }

  /** A call whose answer is a stream read as it arrives (logs, events); `signal` ends it. */
  stream(method: string, path: string, opts: CallOptions = {}): Promise<Readable> {
    return this.dial<Readable>(method, path, opts, { isStream: true });
  }

  /** A call that takes over the connection both ways (exec start): the raw socket. */
  hijack(path: string, body: unknown): Promise<Duplex> {
    return this.dial<Duplex>("POST", path, { body }, { isStream: true, hijack: true, openStdin: true });
  }

  private toRuntimeError(call: string, err: ModemError): RuntimeError {
    const argv = [this.socketPath, call];
    if (err.statusCode === undefined) {
      // Never reached podman: the socket is missing, refused, or the call timed out.
      const reason = err.code === "ENOENT" || err.code === "ECONNREFUSED" ? `${this.what} is not running (${err.code})` : err.message;
      return new RuntimeError(`${call} failed: ${reason}`, argv, null, "");
    }
    const message = podmanMessage(err);
    const text = `${call} failed (HTTP ${err.statusCode}): ${message}`;
    if (err.statusCode === 404 && /no such container|no container with name or id/i.test(message)) {
      return new NoSuchContainerError(text, argv, err.statusCode, message);
    }
    // A create of a missing image is a 500 "image not known", not a 404.
    if (/image not known|no such image|failed to find image|image .* not found/i.test(message)) {
      return new ImageNotFoundError(text, argv, err.statusCode, message);
    }
    return new RuntimeError(text, argv, err.statusCode, message);
  }
}
