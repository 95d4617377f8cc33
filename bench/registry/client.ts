// The benchmark's clients: a small Node HTTP(S) helper for control requests
// (upload sessions, manifests, readiness probes) and curl for every timed transfer.
// Both trust the bench CA; certificate verification is never turned off.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const pems = new Map<string, string>();

/** One request on a fresh connection; `ca` is the file holding the CA every bench server's certificate chains to. */
export function request(
  url: string | URL,
  caPath: string,
  method = "GET",
  headers: Record<string, string | number> = {},
  body?: Buffer | string,
): Promise<Response> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  let ca = pems.get(caPath);
  if (ca === undefined) pems.set(caPath, (ca = readFileSync(caPath, "utf8")));
  return new Promise((resolve, reject) => {
    const req = send(u, { method, headers, ca, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${u.href}: no answer within 30s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Like request() but fails unless the status is `want`. */
export async function expect(
  want: number,
  url: string | URL,
  caPath: string,
  method = "GET",
  headers: Record<string, string | number> = {},
  body?: Buffer | string,
): Promise<Response> {
  const res = await request(url, caPath, method, headers, body);
  if (res.status !== want) throw new Error(`${method} ${url}: HTTP ${res.status} (wanted ${want}): ${res.body.toString("utf8").slice(0, 500)}`);
  return res;
}

/** Resolves a Location header (relative for mcr, absolute for distribution) against the server URL. */
export function location(res: Response, base: string): URL {
  const loc = res.headers.location;
  if (!loc) throw new Error(`no Location header in a ${res.status} response`);
  return new URL(loc, base);
}

/**
 * curl options shared by every timed transfer.
 * - HTTP/1.1 everywhere: mcr and nginx (as configured) speak only HTTP/1.1, while Go's server
 *   would negotiate HTTP/2 for distribution over TLS.
 * - TLS 1.3 suites offered in the order Go clients (docker, containerd) offer them, so every
 *   server settles on TLS_AES_128_GCM_SHA256 (OpenSSL's own order would give the OpenSSL
 *   servers AES-256 and distribution AES-128).
 * - No `Expect: 100-continue` round trip before uploads.
 */
export function curlBase(caPath: string): string[] {
  return [
    "--silent",
    "--show-error",
    "--http1.1",
    "--cacert",
    caPath,
    "--tls13-ciphers",
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    "-H",
    "Expect:",
  ];
}

export interface CurlResult {
  status: number;
  downloaded: number;
  uploaded: number;
  seconds: number;
  location: string;
}

const WRITE_OUT = "%{http_code} %{size_download} %{size_upload} %{time_total} %header{location}";

/** Runs one curl transfer (response body to /dev/null) and parses its -w report. */
export function curl(caPath: string, args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile("curl", [...curlBase(caPath), "--output", "/dev/null", "--write-out", WRITE_OUT, ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(" ")}: ${stderr.trim() || err.message}`));
      const [status, down, up, secs, ...loc] = stdout.trim().split(" ");
      resolve({ status: Number(status), downloaded: Number(down), uploaded: Number(up), seconds: Number(secs), location: loc.join(" ").trim() });
    });
  });
}

/** Downloads `url` with curl and returns the SHA-256 of what arrived (an untimed correctness check). */
export function curlDigest(caPath: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", [...curlBase(caPath), "--fail", url], { stdio: ["ignore", "pipe", "pipe"] });
    const hash = createHash("sha256");
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => hash.update(c));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(`sha256:${hash.digest("hex")}`) : reject(new Error(`curl ${url} exited ${code}: ${stderr.trim()}`))));
  });
}

/** The TLS version and suite curl negotiates with `url` (same options as the timed transfers). */
export function curlCipher(caPath: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("curl", [...curlBase(caPath), "--verbose", "--head", "--output", "/dev/null", url], (err, _stdout, stderr) => {
      if (err) return reject(new Error(`curl ${url}: ${stderr.trim() || err.message}`));
      resolve(/SSL connection using (.+)/.exec(stderr)?.[1]?.trim() ?? "unknown");
    });
  });
}
