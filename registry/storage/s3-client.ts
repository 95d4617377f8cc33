// The S3 client for the S3 blob store: endpoint, region, path-style addressing and
// credentials, which come from a credentials file (AWS's INI format) or, without one, from
// the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, an
// instance role, ...). Never from mcr.toml, so they are never in the config or a log line.
import { readFileSync } from "node:fs";
import type { S3Client } from "@aws-sdk/client-s3";

export interface S3Settings {
  /** Empty: AWS's own endpoint for the region. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to every key ("registry/"); empty for the bucket's root. */
  prefix: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key` (MinIO, Ceph, Garage, s3rver). */
  pathStyle: boolean;
  /** AWS-style credentials file; empty: the SDK's default chain. */
  credentialsFile: string;
  /** Answer blob GETs with a 307 to a presigned URL instead of streaming through mcr. */
  redirect: boolean;
  /** Lifetime of a presigned URL, ms. */
  redirectTtlMs: number;
}

/** `aws_access_key_id` and `aws_secret_access_key` of the `[default]` profile (or the file's first). */
export function readCredentialsFile(path: string): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`[s3] credentials_file ${path}: ${(err as Error).message}`);
  }
  const profiles = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = {};
      profiles.set(section[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    if (!current) profiles.set("default", (current = {}));
    current[kv[1]!.toLowerCase()] = kv[2]!.trim();
  }
  const p = profiles.get("default") ?? profiles.values().next().value;
  if (!p?.aws_access_key_id || !p.aws_secret_access_key) {
    throw new Error(`[s3] credentials_file ${path}: needs aws_access_key_id and aws_secret_access_key (AWS credentials file format)`);
  }
  return { accessKeyId: p.aws_access_key_id, secretAccessKey: p.aws_secret_access_key, ...(p.aws_session_token ? { sessionToken: p.aws_session_token } : {}) };
}

export async function createS3Client(s: S3Settings): Promise<S3Client> {
  // Node 20 is supported by these releases; their notice about 2027's releases is not for operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.pathStyle,
    ...(s.credentialsFile ? { credentials: readCredentialsFile(s.credentialsFile) } : {}),
    // Checksums only where S3 requires them: many S3-compatible servers do not understand the
    // newer default (aws-chunked bodies with trailing CRC32), and mcr verifies every blob's digest itself.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // One retry (throttling, a 5xx); streamed uploads are never retried by the SDK.
    maxAttempts: 2,
    // An object store that stops answering fails the request (500, logged) instead of holding
    // it until the client gives up: 5 s to connect, 20 s without a byte (so about 40 s in all).
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 20_000 },
    // The SDK would print notices (a failed streaming PUT is not retried) with console.warn;
    // the store reports its own errors.
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

/** True for S3's "no such object" in its several spellings (HEAD has no body, so no code). */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.Code === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

/**
 * An S3 failure as an operator reads it. A HEAD's error has no body, so the SDK knows only
 * the status ("403 Unknown UnknownError"): say what the status means instead.
 */
export function s3ErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const meaning: Record<number, string> = {
    301: "the bucket is in another region",
    403: "access denied: the credentials were refused, or they may not use this bucket",
    404: "no such bucket",
  };
  const said = e?.message && e.message !== "UnknownError" ? `${e.name ?? ""} ${e.message}`.trim() : undefined;
  return [status, said ?? (status ? meaning[status] : undefined) ?? e?.name ?? String(err)].filter((x) => x !== undefined && x !== "").join(" ");
}
