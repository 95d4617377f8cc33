// Whether the blob store answers, for /v1/health and AdminService/Health: the bucket
// (HeadBucket, on a client of its own) or the local blob folder (readable and writable).
// A result is kept for `ttlMs` (2 s), and callers arriving while a probe runs share it, so
// health checks at any rate make at most one probe per 2 s; a probe that has not answered
// within `timeoutMs` (2 s) counts as a failure. The cause of a failure is logged when the
// state changes, never sent to the (unauthenticated) caller: the answer only names the
// bucket or folder.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { Logger } from "../../lib/log/logger.ts";
import type { RegistryConfig } from "../config.ts";
import { s3Settings } from "./open.ts";
import { createS3Client } from "./s3-client.ts";

export interface StorageStatus {
  /** "s3" or "filesystem". */
  backend: string;
  /** `s3://bucket/prefix` or the blob folder. */
  location: string;
  ok: boolean;
  /** What is wrong, naming the bucket or folder; absent when ok. */
  error?: string;
}

/** One look at the store: resolves when it answers, rejects with the cause when not. */
export interface StorageProbe {
  backend: string;
  location: string;
  /** The message for a failure: "bucket B is not answering". */
  failure: string;
  probe(signal: AbortSignal): Promise<void>;
  close?(): void;
}

export function storageProbe(cfg: RegistryConfig): StorageProbe {
  if (cfg.storage.backend === "s3") {
    const s = s3Settings(cfg);
    let client: Promise<import("@aws-sdk/client-s3").S3Client> | undefined;
    let closed = false;
    return {
      backend: "s3",
      location: `s3://${s.bucket}/${s.prefix}`,
      failure: `bucket ${s.bucket} is not answering`,
      async probe(signal) {
        client ??= createS3Client(s);
        const sdk = await import("@aws-sdk/client-s3");
        await (await client).send(new sdk.HeadBucketCommand({ Bucket: s.bucket }), { abortSignal: signal });
      },
      close() {
        if (closed) return;
        closed = true;
        void client?.then((c) => c.destroy());
      },
    };
  }
  const folder = cfg.storage.layers_path;
  return {
    backend: "filesystem",
    location: folder,
    failure: `storage folder ${folder} cannot be read and written`,
    probe: () => access(folder, constants.R_OK | constants.W_OK | constants.X_OK),
  };
}

export interface StorageHealthOptions {
  ttlMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

export class StorageHealth {
  private last: { at: number; status: StorageStatus } | undefined;
  private running: Promise<StorageStatus> | undefined;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  /** Probes made (tests). */
  probes = 0;

  constructor(
    private readonly p: StorageProbe,
    private readonly log: Logger,
    opts: StorageHealthOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 2_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.now = opts.now ?? Date.now;
  }

  /** The store's state, at most `ttlMs` old. Never rejects. */
  check(): Promise<StorageStatus> {
    if (this.last && this.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.status);
    this.running ??= this.probe().finally(() => (this.running = undefined));
    return this.running;
  }

  private async probe(): Promise<StorageStatus> {
    this.probes++;
    const base = { backend: this.p.backend, location: this.p.location };
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let status: StorageStatus;
    try {
      // The timeout also ends a probe whose client does not honour the signal.
      await Promise.race([
        this.p.probe(abort.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            abort.abort();
            reject(new Error(`no answer within ${this.timeoutMs} ms`));
          }, this.timeoutMs);
        }),
      ]);
      status = { ...base, ok: true };
      if (this.last && !this.last.status.ok) this.log.info({ storage: this.p.location }, "blob storage answers again");
    } catch (err) {
      status = { ...base, ok: false, error: this.p.failure };
      if (!this.last || this.last.status.ok) this.log.error({ err, storage: this.p.location }, `health: ${this.p.failure}`);
    }
    clearTimeout(timer);
    this.last = { at: this.now(), status };
    return status;
  }

  close(): void {
    this.p.close?.();
  }
}
